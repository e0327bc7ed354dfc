"""infra/template.yaml declares what the code expects of AWS.

The table as functions/aws/src/dynamo/table.rs makes it, one function per
binary of functions/lambda, one API route per route the routers of
functions/core/src/http answer, and the edge as the site needs it.
"""

import re
import unittest

import cfn

ROUTERS = cfn.REPO / "functions" / "core" / "src" / "http" / "mod.rs"
BINARIES = cfn.REPO / "functions" / "lambda" / "src" / "bin"
WORKFLOWS = cfn.REPO / "infra" / "github" / "workflows"

# Binary name -> logical id of its function in the template.
FUNCTIONS = {
    "signup": "Signup",
    "rsvp": "Rsvp",
    "unsubscribe": "Unsubscribe",
    "donate": "Donate",
    "mail-events": "MailEvents",
    "followups": "Followups",
}


def route_calls(source: str) -> list[str]:
    """The arguments of every `.route(...)` call, parentheses matched."""
    calls = []
    start = source.find(".route(")
    while start != -1:
        depth, end = 0, start + len(".route")
        for end in range(start + len(".route"), len(source)):
            depth += {"(": 1, ")": -1}.get(source[end], 0)
            if depth == 0:
                break
        calls.append(source[start + len(".route(") : end])
        start = source.find(".route(", end)
    return calls


class Template(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.template = cfn.load()
        cls.resources = cls.template["Resources"]

    def test_table_matches_create_table(self):
        table = self.resources["Table"]
        properties = table["Properties"]
        self.assertEqual(table["DeletionPolicy"], "Retain")
        self.assertTrue(properties["DeletionProtectionEnabled"])
        self.assertEqual(properties["BillingMode"], "PAY_PER_REQUEST")
        self.assertEqual(
            properties["KeySchema"],
            [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        )
        (waitlist,) = properties["LocalSecondaryIndexes"]
        self.assertEqual(waitlist["IndexName"], "waitlist")
        self.assertEqual(waitlist["KeySchema"][1]["AttributeName"], "waitlist_position")
        self.assertEqual(waitlist["Projection"], {"ProjectionType": "ALL"})
        (queue,) = properties["GlobalSecondaryIndexes"]
        self.assertEqual(queue["IndexName"], "queue")
        self.assertEqual(
            [k["AttributeName"] for k in queue["KeySchema"]], ["queue", "queue_key"]
        )
        self.assertEqual(queue["Projection"], {"ProjectionType": "ALL"})
        types = {a["AttributeName"]: a["AttributeType"] for a in properties["AttributeDefinitions"]}
        self.assertEqual(
            types, {"pk": "S", "sk": "S", "waitlist_position": "N", "queue": "S", "queue_key": "S"}
        )
        self.assertEqual(properties["TimeToLiveSpecification"], {"AttributeName": "expires_at", "Enabled": True})
        self.assertTrue(properties["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"])
        sse = properties["SSESpecification"]
        self.assertEqual((sse["SSEType"], sse["KMSMasterKeyId"]), ("KMS", {"Fn::GetAtt": ["CampaignKey", "Arn"]}))

    def test_one_function_per_binary_on_al2023(self):
        binaries = sorted(p.stem for p in BINARIES.glob("*.rs"))
        for binary in binaries:
            self.assertIn(binary, FUNCTIONS, f"{binary}: declare it in the template and here")
            function = self.resources[FUNCTIONS[binary]]["Properties"]
            self.assertEqual(function["Runtime"], "provided.al2023")
            self.assertEqual(function["Handler"], "bootstrap")
            self.assertEqual(function["Architectures"], [{"Ref": "Architecture"}])
            variables = function["Environment"]["Variables"]
            self.assertEqual(variables["ESTRADE_TABLE"], {"Ref": "Table"})
            if binary != "mail-events":
                self.assertEqual(variables["ESTRADE_MANIFEST"], "manifest.json")
                keys = variables["ESTRADE_TOKEN_KEYS"]["Fn::Sub"]
                self.assertTrue(keys.startswith("{{resolve:secretsmanager:"), "no secret in the template")
        self.assertEqual(self.resources["Followups"]["Condition"], "HasFollowups")
        rule = self.resources["FollowupsEveryMinute"]["Properties"]
        self.assertEqual(rule["ScheduleExpression"], "rate(1 minute)")

    def test_api_routes_are_the_routers_routes(self):
        source = ROUTERS.read_text(encoding="utf-8")
        routed = set()
        for call in route_calls(source):
            path = re.search(r'"(/api/[^"]+)"', call).group(1)
            for method in re.findall(r"\b(get|post|put|delete)\(", call):
                routed.add(f"{method.upper()} {path}")
        routed.add("POST /api/mail-events")  # functions/core/src/mail_events.rs
        declared = {
            r["Properties"]["RouteKey"]
            for r in cfn.resources(self.template, "AWS::ApiGatewayV2::Route").values()
        }
        self.assertGreaterEqual(len(routed), 9, f"the route pattern found only {routed}")
        self.assertEqual(declared, routed)

    def test_cdn_serves_the_site_and_routes_api_uncached(self):
        config = self.resources["Distribution"]["Properties"]["DistributionConfig"]
        (api,) = [b for b in config["CacheBehaviors"] if b["PathPattern"] == "/api/*"]
        self.assertEqual(api["TargetOriginId"], "functions")
        self.assertEqual(api["CachePolicyId"], "4135ea2d-6df8-44a3-9df3-4b5a84be39ad")  # CachingDisabled
        self.assertIn("POST", api["AllowedMethods"])
        forwarded = self.resources["ApiOriginRequest"]["Properties"]["OriginRequestPolicyConfig"]
        headers = forwarded["HeadersConfig"]["Headers"]
        for header in ("Origin", "Referer", "Content-Type", "Accept"):
            self.assertIn(header, headers)
        self.assertNotIn("Host", headers, "API Gateway answers only to its own Host")
        self.assertEqual(forwarded["QueryStringsConfig"]["QueryStringBehavior"], "all")
        site = [o for o in config["Origins"] if o["Id"] == "site"][0]
        self.assertIn("OriginAccessControlId", site)
        block = self.resources["SiteBucket"]["Properties"]["PublicAccessBlockConfiguration"]
        self.assertTrue(all(block.values()))
        policy = self.resources["SecurityHeaders"]["Properties"]["ResponseHeadersPolicyConfig"]
        csp = policy["SecurityHeadersConfig"]["ContentSecurityPolicy"]["ContentSecurityPolicy"]
        self.assertIn("default-src 'self'", csp)
        # The donation form is answered with a 303 to Stripe Checkout.
        self.assertIn("form-action 'self' https://checkout.stripe.com;", csp)
        csp = csp.replace(" https://checkout.stripe.com;", ";")
        self.assertNotRegex(csp, r"https?:|unsafe-", "the site loads nothing from elsewhere")
        self.assertGreaterEqual(
            policy["SecurityHeadersConfig"]["StrictTransportSecurity"]["AccessControlMaxAgeSec"], 31536000
        )
        for behavior in [config["DefaultCacheBehavior"], *config["CacheBehaviors"]]:
            self.assertEqual(behavior["ResponseHeadersPolicyId"], {"Ref": "SecurityHeaders"})
            self.assertEqual(behavior["ViewerProtocolPolicy"], "redirect-to-https")

    def test_mail_events_reach_the_function(self):
        topic = self.resources["MailEventsTopic"]["Properties"]
        self.assertEqual(topic["SignatureVersion"], "2")
        subscription = self.resources["MailEventsSubscription"]["Properties"]
        self.assertEqual(subscription["Protocol"], "https")
        self.assertEqual(subscription["Endpoint"], {"Fn::Sub": "https://${Domain}/api/mail-events"})
        destination = self.resources["MailEventsDestination"]["Properties"]["EventDestination"]
        self.assertEqual(sorted(destination["MatchingEventTypes"]), ["bounce", "complaint"])
        variables = self.resources["MailEvents"]["Properties"]["Environment"]["Variables"]
        self.assertEqual(variables["ESTRADE_MAIL_EVENTS_TOPIC_ARN"], {"Ref": "MailEventsTopic"})

    def test_alarms_watch_functions_and_ses_reputation(self):
        watched = {
            (a["Properties"]["Namespace"], a["Properties"]["MetricName"])
            for a in cfn.resources(self.template, "AWS::CloudWatch::Alarm").values()
        }
        for metric in [
            ("AWS/Lambda", "Errors"),
            ("AWS/Lambda", "Throttles"),
            ("AWS/SES", "Reputation.BounceRate"),
            ("AWS/SES", "Reputation.ComplaintRate"),
        ]:
            self.assertIn(metric, watched)

    def test_deploy_never_publishes_the_manifest(self):
        workflow = (WORKFLOWS / "deploy.yml").read_text(encoding="utf-8")
        commands = re.sub(r"\\\n\s*", " ", workflow)  # join continued lines
        syncs = re.findall(r"aws s3 sync (\S+) .*", commands)
        self.assertIn("public", syncs, "the deploy workflow syncs the whole site")
        for line in re.findall(r"aws s3 sync public .*", commands):
            self.assertIn("--exclude '_estrade/*'", line)

if __name__ == "__main__":
    unittest.main()
