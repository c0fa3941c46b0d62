"""An OTLP/HTTP metrics receiver for tests/tests/otlp.rs.

Decodes each POST /v1/metrics with the `opentelemetry-proto` Python package (the official
schema, independent of the Rust crates that encoded it) and prints one JSON line per request:
resources with their attributes, and every metric with its kind, unit, temporality and points.
The first line printed is `listening PORT`.
"""

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)


def attributes(kvs):
    return {kv.key: kv.value.string_value for kv in kvs}


def number(point):
    kind = point.WhichOneof("value")
    return point.as_int if kind == "as_int" else point.as_double


def summarize(request):
    resources = []
    for rm in request.resource_metrics:
        metrics = []
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                kind = m.WhichOneof("data")
                entry = {"scope": sm.scope.name, "name": m.name, "unit": m.unit, "kind": kind, "points": []}
                if kind == "sum":
                    entry["temporality"] = m.sum.aggregation_temporality
                    entry["monotonic"] = m.sum.is_monotonic
                    points = m.sum.data_points
                elif kind == "gauge":
                    points = m.gauge.data_points
                elif kind == "histogram":
                    entry["temporality"] = m.histogram.aggregation_temporality
                    points = m.histogram.data_points
                else:
                    points = []
                for p in points:
                    point = {"attributes": attributes(p.attributes), "start": p.start_time_unix_nano, "time": p.time_unix_nano}
                    if kind == "histogram":
                        point.update(
                            count=p.count,
                            sum=p.sum,
                            bucket_counts=list(p.bucket_counts),
                            explicit_bounds=list(p.explicit_bounds),
                        )
                    else:
                        point["value"] = number(p)
                    entry["points"].append(point)
                metrics.append(entry)
        resources.append({"attributes": attributes(rm.resource.attributes), "metrics": metrics})
    return {"resources": resources}


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        if self.path != "/v1/metrics":
            self.send_error(404)
            return
        if self.headers.get("Content-Type") != "application/x-protobuf":
            self.send_error(415)
            return
        body = self.rfile.read(int(self.headers["Content-Length"]))
        request = ExportMetricsServiceRequest()
        request.ParseFromString(body)
        print(json.dumps(summarize(request)), flush=True)
        answer = ExportMetricsServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 0), Handler)
print(f"listening {server.server_address[1]}", flush=True)
server.serve_forever()
