"""The vendors' popular Python clients doing the operations the Rust adapters do in
`adapter_vs_reqwest`, against the same simulator (run by benches/python_clients.sh).

    python clients.py VENDOR BASE_URL REQUESTS

Prints `RESULT ...` lines like adapter_vs_reqwest: operations, wall and CPU seconds
(time.process_time), operations per second and per CPU second.
"""

import sys
import time
import warnings

warnings.filterwarnings("ignore")

SUMMARY = "checkout p99 latency above 2 s"
_next = [1]


def key():
    _next[0] += 1
    return f"py{_next[0]:012d}"


def pagerduty(base):
    import pdpyras

    events = pdpyras.EventsAPISession("R0UT1NGKEY0000000000000000000000")
    events.url = base.rstrip("/")  # pdpyras appends /v2/enqueue
    rest = pdpyras.APISession("bench-token", default_from="bench@example.com")
    rest.url = base.rstrip("/")
    rest.retry = {}

    def trigger():
        k = key()
        events.trigger(SUMMARY, "prometheus-bench", dedup_key=k, severity="critical",
                       custom_details={"alertname": "HighLatency", "service": "checkout"})
        return k

    k = trigger()
    found = rest.list_all("incidents", params={"incident_key": k})
    incident_id = found[0]["id"]

    def get():
        rest.rget(f"/incidents/{incident_id}")

    return [("trigger", trigger, 1), ("get", get, 1)]


def servicenow(base):
    from pysnc import ServiceNowClient

    # pysnc refuses http:// instance URLs; the simulator is plain HTTP on loopback, so the
    # client is built for https:// and pointed at the simulator afterwards.
    client = ServiceNowClient(base.rstrip("/").replace("http://", "https://", 1),
                              ("itsm.bench", "bench-password"), auto_retry=False)
    client._ServiceNowClient__instance = base.rstrip("/")

    def create():
        k = key()
        found = client.GlideRecord("incident")
        if found.get("correlation_id", k):  # idempotent create, as the adapter does
            return found.sys_id
        gr = client.GlideRecord("incident")
        gr.initialize()
        gr.short_description = SUMMARY
        gr.description = "Alertmanager: HighLatency on checkout"
        gr.impact = "1"
        gr.urgency = "2"
        gr.cmdb_ci = "checkout"
        gr.correlation_id = k
        return gr.insert()

    sys_id = str(create())

    def get():
        gr = client.GlideRecord("incident")
        if not gr.get(sys_id):
            raise RuntimeError("incident not found")

    return [("create", create, 2), ("get", get, 1)]


def jira(base):
    from jira import JIRA

    client = JIRA(server=base.rstrip("/"), basic_auth=("bench@example.com", "bench-api-token"),
                  get_server_info=False, options={"rest_api_version": "3"}, max_retries=0)

    def create():
        k = key()
        label = f"itsm-key:{k}"
        found = client.enhanced_search_issues(f'project = "OPS" AND labels = "{label}"', maxResults=1)
        if found:
            return found[0].key
        issue = client.create_issue(fields={
            "project": {"key": "OPS"},
            "issuetype": {"name": "Incident"},
            "summary": SUMMARY,
            "description": {"type": "doc", "version": 1, "content": [{"type": "paragraph",
                            "content": [{"type": "text", "text": "Alertmanager: HighLatency"}]}]},
            "priority": {"name": "High"},
            "labels": [label, "itsm-service:checkout"],
            "components": [{"name": "checkout"}],
        })
        return issue.key

    issue_key = create()

    def get():
        client.issue(issue_key)

    return [("create", create, 3), ("get", get, 1)]


def main():
    vendor, base, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    ops = {"pagerduty": pagerduty, "servicenow": servicenow, "jira": jira}[vendor](base)
    for name, op, http in ops:
        for _ in range(50):
            op()
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for _ in range(n):
            op()
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        print(f"RESULT vendor={vendor} op={name} client=python concurrency=1 ops={n} "
              f"http_per_op={http} wall_s={wall:.3f} cpu_s={cpu:.3f} "
              f"cpu_us_per_op={cpu * 1e6 / n:.1f} ops_per_s={n / wall:.0f} "
              f"ops_per_cpu_s={n / cpu:.0f} failed=0", flush=True)


if __name__ == "__main__":
    main()
