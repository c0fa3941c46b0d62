"""An OTLP metrics receiver for tests/tests/otlp.rs: OTLP/HTTP, or OTLP/gRPC with `--grpc`.

Decodes each POST /v1/metrics (or each gRPC `MetricsService/Export` call, served by the `grpcio`
package with the service stubs `opentelemetry-proto` ships) with the official schema's Python
package — independent of the Rust crates that encoded it — and prints one JSON line per request:
resources with their attributes, and every metric with its kind, unit, temporality and points;
over gRPC also the call's metadata. `--unavailable N` answers the first N gRPC calls
`UNAVAILABLE`, a status the pusher must retry; `--tls-cert PEM --tls-key PEM` serves gRPC over
TLS. The first line printed is `listening PORT`.
"""

import argparse
import json
from concurrent import futures
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


def serve_grpc(port, unavailable, tls):
    import grpc
    from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2_grpc

    class Service(metrics_service_pb2_grpc.MetricsServiceServicer):
        refused = 0

        def Export(self, request, context):
            if Service.refused < unavailable:
                Service.refused += 1
                print(json.dumps({"refused": "UNAVAILABLE"}), flush=True)
                context.abort(grpc.StatusCode.UNAVAILABLE, "try again")
            summary = summarize(request)
            summary["metadata"] = {k: v for k, v in context.invocation_metadata()}
            print(json.dumps(summary), flush=True)
            return ExportMetricsServiceResponse()

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(Service(), server)
    if tls:
        with open(tls[0], "rb") as cert, open(tls[1], "rb") as key:
            credentials = grpc.ssl_server_credentials([(key.read(), cert.read())])
        bound = server.add_secure_port(f"127.0.0.1:{port}", credentials)
    else:
        bound = server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    print(f"listening {bound}", flush=True)
    server.wait_for_termination()


parser = argparse.ArgumentParser()
parser.add_argument("port", nargs="?", type=int, default=0)
parser.add_argument("--grpc", action="store_true")
parser.add_argument("--unavailable", type=int, default=0)
parser.add_argument("--tls-cert")
parser.add_argument("--tls-key")
args = parser.parse_args()
if args.grpc:
    serve_grpc(args.port, args.unavailable, args.tls_cert and (args.tls_cert, args.tls_key))
else:
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print(f"listening {server.server_address[1]}", flush=True)
    server.serve_forever()
