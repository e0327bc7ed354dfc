"""No IAM statement of infra/template.yaml grants more than it needs.

Every Allow names its actions one by one (no `*`, no `s3:Get*`) and its
resources by name (no `*` where an ARN fits). The few places where a
wildcard is the only way to say it are listed below, each with its
reason; an exception that no longer matches anything fails too, so the
list cannot outlive what it excuses.

    .venv/bin/python -m unittest discover -s tests/infra -v
"""

import unittest

import cfn

# Actions that AWS authorises only on Resource "*" (no resource-level
# permission exists). None is used today; a function that adds tracing
# or custom metrics may use these without an exception of its own.
ONLY_ON_ANY_RESOURCE = {
    "xray:PutTraceSegments": "X-Ray takes no resource ARN",
    "xray:PutTelemetryRecords": "X-Ray takes no resource ARN",
    "cloudwatch:PutMetricData": "metrics have no ARN; a condition on cloudwatch:namespace narrows it",
}

# Wildcards inside an ARN, for things named at run time, not in the template.
NAMED_AT_RUN_TIME = {
    ":log-stream:*": "Lambda names a log stream per instance when it starts",
    "<SiteBucket.Arn>/*": "the site's objects are the files of each build",
}

# Statements allowed to be broader, by (resource, Sid, what), with why.
EXCEPTIONS = {
    ("CampaignKey", "AccountAdministersThroughIam", "action kms:*"):
        "AWS's default key policy: the account (through its IAM policies, "
        "which grant no kms:* here) administers the key; without it the key "
        "could never be managed again",
    ("CampaignKey", "AccountAdministersThroughIam", "resource *"):
        "in a key policy, * is the key itself",
    ("CampaignKey", "SesPublishesToEncryptedTopic", "resource *"):
        "in a key policy, * is the key itself",
    ("CampaignKey", "CloudWatchPublishesToEncryptedTopic", "resource *"):
        "in a key policy, * is the key itself",
    ("CampaignKey", "LogsEncryptsFunctionLogs", "resource *"):
        "in a key policy, * is the key itself",
}

POLICY_PLACES = {
    "AWS::IAM::Role": lambda p: [d["PolicyDocument"] for d in p.get("Policies", [])],
    "AWS::IAM::Policy": lambda p: [p["PolicyDocument"]],
    "AWS::IAM::ManagedPolicy": lambda p: [p["PolicyDocument"]],
    "AWS::KMS::Key": lambda p: [p["KeyPolicy"]],
    "AWS::SNS::TopicPolicy": lambda p: [p["PolicyDocument"]],
    "AWS::S3::BucketPolicy": lambda p: [p["PolicyDocument"]],
    "AWS::SQS::QueuePolicy": lambda p: [p["PolicyDocument"]],
}


def as_list(value):
    return value if isinstance(value, list) else [value]


def render(value) -> list[str]:
    """The text a value stands for; both branches of an Fn::If."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [text for item in value for text in render(item)]
    if "Ref" in value:
        return [] if value["Ref"] == "AWS::NoValue" else [f"<{value['Ref']}>"]
    if "Fn::GetAtt" in value:
        return ["<{}>".format(".".join(value["Fn::GetAtt"]))]
    if "Fn::Sub" in value:
        template = value["Fn::Sub"]
        text = template if isinstance(template, str) else template[0]
        return [text.replace("${", "<").replace("}", ">")]
    if "Fn::If" in value:
        return render(value["Fn::If"][1]) + render(value["Fn::If"][2])
    raise AssertionError(f"cannot read {value!r}: teach render() this function")


def statements(template):
    for name, resource in template["Resources"].items():
        place = POLICY_PLACES.get(resource["Type"])
        if place:
            for document in place(resource["Properties"]):
                for statement in as_list(document["Statement"]):
                    yield name, statement


class LeastPrivilege(unittest.TestCase):
    def setUp(self):
        self.template = cfn.load()
        self.used = set()

    def broader(self, name, statement, what):
        """A problem, unless an exception names exactly this."""
        key = (name, statement.get("Sid", "?"), what)
        if key in EXCEPTIONS:
            self.used.add(key)
            return []
        return [f"{name} {statement.get('Sid', '(no Sid)')}: {what}"]

    def test_every_allow_names_its_actions_and_resources(self):
        problems = []
        for name, statement in statements(self.template):
            if statement["Effect"] == "Deny":
                continue  # a broad deny only takes away
            for forbidden in ("NotAction", "NotResource", "NotPrincipal"):
                if forbidden in statement:
                    problems.append(f"{name} {statement.get('Sid')}: Allow with {forbidden}")
            actions = as_list(statement["Action"])
            for action in actions:
                if "*" in action:
                    problems += self.broader(name, statement, f"action {action}")
            if "Principal" in statement and statement["Principal"] == "*":
                problems.append(f"{name} {statement.get('Sid')}: Allow to anyone")
            if "Resource" not in statement:
                problems.append(f"{name} {statement.get('Sid')}: no Resource")
                continue
            for resource in render(statement["Resource"]):
                if resource == "*":
                    if all(a in ONLY_ON_ANY_RESOURCE for a in actions):
                        continue
                    problems += self.broader(name, statement, "resource *")
                elif "*" in resource:
                    if not any(resource.endswith(s) for s in NAMED_AT_RUN_TIME):
                        problems += self.broader(name, statement, f"resource {resource}")
        self.assertEqual(problems, [], "statements broader than needed")
        self.assertEqual(
            sorted(set(EXCEPTIONS) - self.used), [],
            "exceptions that excuse nothing any more: remove them",
        )

    def test_roles_carry_no_managed_policies(self):
        # AWS's managed policies (AWSLambdaBasicExecutionRole and the like)
        # grant on "*"; every role here says what it needs itself.
        for name, role in cfn.resources(self.template, "AWS::IAM::Role").items():
            self.assertNotIn("ManagedPolicyArns", role["Properties"], name)

    def test_function_roles_are_for_lambda_of_this_account_only(self):
        roles = cfn.resources(self.template, "AWS::IAM::Role")
        functions = cfn.resources(self.template, "AWS::Lambda::Function")
        self.assertTrue(functions)
        for name, function in functions.items():
            role_name = function["Properties"]["Role"]["Fn::GetAtt"][0]
            trust = roles[role_name]["Properties"]["AssumeRolePolicyDocument"]
            (statement,) = trust["Statement"]
            self.assertEqual(statement["Principal"], {"Service": "lambda.amazonaws.com"}, name)
            self.assertIn("aws:SourceAccount", statement["Condition"]["StringEquals"], name)
        used_roles = [f["Properties"]["Role"]["Fn::GetAtt"][0] for f in functions.values()]
        self.assertEqual(len(used_roles), len(set(used_roles)), "one role per function")

    def test_github_roles_trust_one_repository_and_branch(self):
        roles = cfn.resources(self.template, "AWS::IAM::Role")
        github = {
            name: role for name, role in roles.items()
            if "Federated" in role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]
        }
        self.assertEqual(sorted(github), ["GitHubBroadcastRole", "GitHubDeployRole"])
        for name, role in github.items():
            (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
            self.assertEqual(statement["Action"], "sts:AssumeRoleWithWebIdentity", name)
            self.assertNotIn("StringLike", statement["Condition"], f"{name}: no patterns")
            exact = statement["Condition"]["StringEquals"]
            self.assertEqual(exact["token.actions.githubusercontent.com:aud"], "sts.amazonaws.com")
            self.assertEqual(
                exact["token.actions.githubusercontent.com:sub"],
                {"Fn::Sub": "repo:${GitHubRepository}:ref:refs/heads/${GitHubBranch}"},
                name,
            )

    def test_invoke_permissions_name_their_caller(self):
        for name, permission in cfn.resources(self.template, "AWS::Lambda::Permission").items():
            self.assertIn("SourceArn", permission["Properties"], name)


if __name__ == "__main__":
    unittest.main()
