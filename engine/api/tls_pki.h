// A throw-away X.509 PKI so that TLS migrations work without the operator running certtool.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace migrascope {

struct PkiOptions {
    std::string serverName = "localhost"; // CN and DNS subjectAltName of the server identity
    std::vector<std::string> serverAddresses = {"127.0.0.1", "::1"}; // IP subjectAltNames
    std::string clientName = "migrascope-source";                    // CN of the client identity
    std::string caName = "Migrascope test CA";
    // Validity of the server and client certificates, relative to now. Tests make expired
    // certificates with from = -2 days, for = 1 day; the CA always outlives its leaves.
    std::int64_t leafValidFromSeconds = -3600;
    std::int64_t leafValidForSeconds = 10ll * 365 * 24 * 3600;
};

// Writes ca-cert.pem, ca-key.pem, server-cert.pem, server-key.pem, client-cert.pem and
// client-key.pem (QEMU's tls-creds-x509 layout) into dir, creating it and missing parents with
// mode 0700. Keys are created with mode 0600. Existing files are replaced atomically, and
// ca-cert.pem is written last so that its presence means the set is complete.
// Throws std::runtime_error naming the file or GnuTLS step that failed.
void generatePki(const std::string& dir, const PkiOptions& options = {});

// Another source host's identity from the same CA (caDir's ca-cert.pem and ca-key.pem): writes
// client-cert.pem (CN clientName), client-key.pem and a copy of ca-cert.pem into dir, a
// source's tls-creds directory. Throws std::runtime_error naming the file or step that failed.
void issueClientIdentity(const std::string& caDir, const std::string& dir,
                         const std::string& clientName);

// $XDG_CONFIG_HOME/migrascope/pki, where XDG_CONFIG_HOME defaults to $HOME/.config.
std::string defaultPkiDirectory();

// Returns defaultPkiDirectory(), generating the PKI there first if ca-cert.pem is missing.
// Concurrent callers (a window and a headless run) serialise on a lock, so only one generates.
std::string ensureDefaultPki();

// Loads the identities a run will present (client: a source; server: a destination) from
// credsDir and parses the priority string, so a broken PKI directory or priority is refused
// before anything starts. Throws std::invalid_argument naming the file or the option.
void checkTlsSetup(const std::string& credsDir, const std::string& priority, bool asClient,
                   bool asServer);

} // namespace migrascope
