//! Part of the `picometrics-bridge` binary: TLS on the listeners devices connect to
//! (`--accept`, `--accept-http`) with `--tls-cert`/`--tls-key`, and with `--accept-client-ca`
//! the device names a client certificate carries — its subject's common name and its DNS
//! names — which are the only devices its connection may speak for.

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::path::Path;
use std::sync::Arc;
use tokio_rustls::rustls::{self, server::WebPkiClientVerifier, RootCertStore, ServerConfig};

/// The server side of the listeners' TLS: `cert` and `key` (PEM), and with `client_ca` (PEM,
/// one or more certificates) a client certificate signed by one of them required.
pub fn server_config(cert: &Path, key: &Path, client_ca: Option<&Path>) -> Result<Arc<ServerConfig>, String> {
    let at = |path: &Path, e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| at(cert, &e))?
        .collect::<Result<_, _>>()
        .map_err(|e| at(cert, &e))?;
    if chain.is_empty() {
        return Err(at(cert, &"no certificate in the file"));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| at(key, &e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let builder = match client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = RootCertStore::empty();
            for c in CertificateDer::pem_file_iter(ca).map_err(|e| at(ca, &e))? {
                roots.add(c.map_err(|e| at(ca, &e))?).map_err(|e| at(ca, &e))?;
            }
            if roots.is_empty() {
                return Err(at(ca, &"no certificate in the file"));
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| at(ca, &e))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let config = builder.with_single_cert(chain, key).map_err(|e| e.to_string())?;
    Ok(Arc::new(config))
}

/// The devices a (verified) client certificate names: its subject's common names, then its
/// DNS subject alternative names, each once.
pub fn device_names(cert: &CertificateDer<'_>) -> Vec<String> {
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(cert.as_ref()) else {
        return Vec::new();
    };
    let mut names: Vec<String> =
        cert.subject().iter_common_name().filter_map(|cn| cn.as_str().ok()).map(str::to_owned).collect();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            if let x509_parser::extensions::GeneralName::DNSName(dns) = name {
                names.push((*dns).to_owned());
            }
        }
    }
    let mut once = Vec::with_capacity(names.len());
    for name in names {
        if !once.contains(&name) {
            once.push(name);
        }
    }
    once
}
