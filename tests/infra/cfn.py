"""Reads a CloudFormation YAML template into plain Python values.

The short forms (`!Ref X`, `!GetAtt A.B`, `!Sub ...`) become their long
forms (`{"Ref": "X"}`, `{"Fn::GetAtt": ["A", "B"]}`, `{"Fn::Sub": ...}`),
so tests can walk the template without CloudFormation's own parser.
"""

from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "infra" / "template.yaml"

_SHORT_FORMS = [
    "And", "Base64", "Cidr", "Equals", "FindInMap", "GetAZs", "If", "ImportValue",
    "Join", "Not", "Or", "Select", "Split", "Sub", "Transform", "Condition",
]


class _Loader(yaml.SafeLoader):
    pass


def _node_value(loader, node):
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)


def _long_form(name):
    key = name if name in ("Ref", "Condition") else f"Fn::{name}"
    return lambda loader, node: {key: _node_value(loader, node)}


def _get_att(loader, node):
    value = _node_value(loader, node)
    if isinstance(value, str):
        value = value.split(".", 1)
    return {"Fn::GetAtt": value}


_Loader.add_constructor("!Ref", _long_form("Ref"))
_Loader.add_constructor("!GetAtt", _get_att)
for _name in _SHORT_FORMS:
    _Loader.add_constructor(f"!{_name}", _long_form(_name))


def load(path: Path = TEMPLATE) -> dict:
    with open(path, encoding="utf-8") as file:
        return yaml.load(file, Loader=_Loader)


def resources(template: dict, kind: str) -> dict:
    """The resources of one type, by logical id."""
    return {
        name: resource
        for name, resource in template["Resources"].items()
        if resource["Type"] == kind
    }
