//! OTLP over gRPC (feature `grpc`): the same `ExportMetricsServiceRequest` bytes as OTLP/HTTP,
//! sent as the unary call `MetricsService/Export` on a tonic channel driven by a one-thread
//! runtime of the pusher's own thread.

use super::stats::Failure;
use super::Builder;
use crate::BuildError;
use bytes::{Buf, BufMut};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceResponse;
use std::time::Duration;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::http::uri::PathAndQuery;
use tonic::metadata::{AsciiMetadataKey, AsciiMetadataValue};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};
use tonic::{Code, Status};

/// The OTLP metrics service's one method.
const EXPORT: &str = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";

/// A pusher's gRPC client.
pub(super) struct Client {
    runtime: tokio::runtime::Runtime,
    channel: Channel,
    metadata: Vec<(AsciiMetadataKey, AsciiMetadataValue)>,
    timeout: Duration,
}

impl Client {
    /// The channel to the builder's URL (connected on the first push, and again after a
    /// failure), with its headers as metadata.
    pub(super) fn new(settings: &Builder) -> Result<Self, BuildError> {
        let url_error = || BuildError::Url { url: settings.url.clone() };
        let mut endpoint = Endpoint::from_shared(settings.url.clone())
            .map_err(|_| url_error())?
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout)
            .user_agent(concat!("picometrics/", env!("CARGO_PKG_VERSION")))
            .map_err(|_| url_error())?;
        if settings.url.starts_with("https://") {
            let tls = match &settings.root_certificates {
                None => ClientTlsConfig::new().with_webpki_roots(),
                Some(path) => {
                    let bad = |reason: String| BuildError::Tls { path: path.clone(), reason };
                    let pem = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
                    if !pem.windows(27).any(|w| w == b"-----BEGIN CERTIFICATE-----") {
                        return Err(bad("no certificate in the file".into()));
                    }
                    ClientTlsConfig::new().ca_certificate(Certificate::from_pem(pem))
                }
            };
            endpoint = endpoint.tls_config(tls).map_err(|e| BuildError::Tls {
                path: settings.root_certificates.clone().unwrap_or_default(),
                reason: e.to_string(),
            })?;
        }
        let mut metadata = Vec::new();
        for (name, value) in &settings.headers {
            let bad = |why| BuildError::Header { name: name.clone(), why };
            let key = AsciiMetadataKey::from_bytes(name.to_ascii_lowercase().as_bytes())
                .map_err(|_| bad("not a gRPC metadata key"))?;
            let value = AsciiMetadataValue::try_from(value.as_str()).map_err(|_| bad("not ASCII"))?;
            metadata.push((key, value));
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|source| BuildError::Io { what: "start the gRPC pusher's runtime", source })?;
        // The lazy channel spawns its worker on the runtime it is made in.
        let channel = {
            let _in_runtime = runtime.enter();
            endpoint.connect_lazy()
        };
        Ok(Self { runtime, channel, metadata, timeout: settings.timeout })
    }

    /// One `Export` call of an encoded request.
    pub(super) fn send(&self, body: &[u8]) -> Result<(), Failure> {
        let mut request = tonic::Request::new(body.to_vec());
        request.set_timeout(self.timeout);
        for (key, value) in &self.metadata {
            request.metadata_mut().insert(key.clone(), value.clone());
        }
        let mut grpc = tonic::client::Grpc::new(self.channel.clone());
        let call = async {
            grpc.ready().await.map_err(|e| Status::unavailable(e.to_string()))?;
            grpc.unary(request, PathAndQuery::from_static(EXPORT), Encoded).await
        };
        let answer = self.runtime.block_on(async { tokio::time::timeout(self.timeout, call).await });
        match answer {
            Err(_elapsed) => Err(Failure::Timeout),
            Ok(Ok(response)) => {
                if let Some(partial) = response.into_inner().partial_success {
                    if partial.rejected_data_points > 0 {
                        eprintln!(
                            "picometrics-exporter: the OTLP receiver rejected {} data points: {}",
                            partial.rejected_data_points, partial.error_message
                        );
                    }
                }
                Ok(())
            }
            Ok(Err(status)) => Err(failure(&status)),
        }
    }
}

/// What a refused call counts as. Retried are the codes the OTLP specification calls retryable
/// (and `RESOURCE_EXHAUSTED` only when the receiver attached details, where its `RetryInfo`
/// goes); any other code is the receiver refusing the request.
fn failure(status: &Status) -> Failure {
    let transport = std::error::Error::source(status)
        .is_some_and(|e| e.is::<tonic::transport::Error>() || e.is::<std::io::Error>());
    match status.code() {
        Code::Unavailable if transport => Failure::Connection,
        Code::DeadlineExceeded => Failure::Timeout,
        Code::ResourceExhausted if !status.details().is_empty() => Failure::Throttled,
        Code::Unavailable | Code::Cancelled | Code::Aborted | Code::OutOfRange | Code::DataLoss => {
            Failure::ServerError
        }
        _ => Failure::Rejected,
    }
}

/// Sends the request's bytes as they are (encoded once, by the worker, for HTTP and gRPC
/// alike) and decodes the answer with prost.
struct Encoded;

impl Codec for Encoded {
    type Encode = Vec<u8>;
    type Decode = ExportMetricsServiceResponse;
    type Encoder = Self;
    type Decoder = Answer;

    fn encoder(&mut self) -> Self {
        Self
    }

    fn decoder(&mut self) -> Answer {
        Answer
    }
}

impl Encoder for Encoded {
    type Item = Vec<u8>;
    type Error = Status;

    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

/// The decoder of `ExportMetricsServiceResponse`.
struct Answer;

impl Decoder for Answer {
    type Item = ExportMetricsServiceResponse;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Self::Item>, Status> {
        let answer = prost::Message::decode(src.copy_to_bytes(src.remaining()))
            .map_err(|e| Status::internal(format!("the receiver's answer: {e}")))?;
        Ok(Some(answer))
    }
}
