#include "engine/api/tls_pki.h"

#include "engine/common/user_directories.h"

#include <algorithm>
#include <arpa/inet.h>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <filesystem>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <memory>
#include <pwd.h>
#include <stdexcept>
#include <string_view>
#include <sys/file.h>
#include <sys/stat.h>
#include <type_traits>
#include <unistd.h>

namespace migrascope {

namespace {

constexpr std::int64_t kCaValidSeconds = 10ll * 365 * 24 * 3600;

std::string describeErrno(int error) {
    char buffer[256];
    return strerror_r(error, buffer, sizeof buffer);
}

[[noreturn]] void throwErrno(const std::string& what, int error) {
    throw std::runtime_error(what + ": " + describeErrno(error));
}

void checkGnutls(int rc, const std::string& step) {
    if (rc < 0)
        throw std::runtime_error(step + " failed: " + gnutls_strerror(rc));
}

class FileDescriptor {
public:
    explicit FileDescriptor(int fd) : fd_(fd) {}
    FileDescriptor(const FileDescriptor&) = delete;
    FileDescriptor& operator=(const FileDescriptor&) = delete;
    ~FileDescriptor() {
        if (fd_ >= 0)
            ::close(fd_);
    }
    int get() const { return fd_; }
    // Returns close()'s errno, or 0: on some filesystems a failed write is only reported here.
    int close() {
        const int rc = ::close(fd_);
        fd_ = -1;
        return rc == 0 ? 0 : errno;
    }

private:
    int fd_;
};

struct PrivateKeyDeleter {
    void operator()(gnutls_x509_privkey_t key) const { gnutls_x509_privkey_deinit(key); }
};
using PrivateKey = std::unique_ptr<std::remove_pointer_t<gnutls_x509_privkey_t>, PrivateKeyDeleter>;

struct CertificateDeleter {
    void operator()(gnutls_x509_crt_t certificate) const { gnutls_x509_crt_deinit(certificate); }
};
using Certificate = std::unique_ptr<std::remove_pointer_t<gnutls_x509_crt_t>, CertificateDeleter>;

// Owns memory GnuTLS allocated for an export; wiped first because it may hold a private key.
class ExportedData {
public:
    ExportedData() = default;
    ExportedData(const ExportedData&) = delete;
    ExportedData& operator=(const ExportedData&) = delete;
    ~ExportedData() {
        if (datum_.data != nullptr) {
            gnutls_memset(datum_.data, 0, datum_.size);
            gnutls_free(datum_.data);
        }
    }
    gnutls_datum_t* out() { return &datum_; }
    std::string_view view() const {
        return {reinterpret_cast<const char*>(datum_.data), datum_.size};
    }

private:
    gnutls_datum_t datum_{nullptr, 0};
};

void makeDirectories(const std::filesystem::path& dir) {
    std::filesystem::path partial;
    for (const auto& component : dir) {
        partial /= component;
        if (::mkdir(partial.c_str(), 0700) != 0 && errno != EEXIST)
            throwErrno("cannot create directory " + partial.string(), errno);
    }
    struct stat status {};
    if (::stat(dir.c_str(), &status) != 0)
        throwErrno("cannot inspect directory " + dir.string(), errno);
    if (!S_ISDIR(status.st_mode))
        throw std::runtime_error(dir.string() + " exists but is not a directory");
}

std::string randomHex(std::size_t bytes) {
    std::string random(bytes, '\0');
    checkGnutls(gnutls_rnd(GNUTLS_RND_NONCE, random.data(), random.size()), "drawing random bytes");
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string hex;
    for (const char byte : random) {
        const auto value = static_cast<unsigned char>(byte);
        hex += kDigits[value >> 4];
        hex += kDigits[value & 0xf];
    }
    return hex;
}

// Replaces path atomically: readers (QEMU, a concurrent Migrascope) never see half a file, and
// the file exists with its final mode from its first byte, so a key is never briefly readable.
void writeFileReplacing(const std::filesystem::path& path, std::string_view contents, mode_t mode) {
    const std::string temporary = path.string() + ".new-" + randomHex(8);
    FileDescriptor fd(
        ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
    if (fd.get() < 0)
        throwErrno("cannot create " + temporary, errno);
    auto fail = [&](const std::string& what, int error) {
        ::unlink(temporary.c_str());
        throwErrno(what, error);
    };
    while (!contents.empty()) {
        const ssize_t written = ::write(fd.get(), contents.data(), contents.size());
        if (written < 0) {
            if (errno == EINTR)
                continue;
            fail("cannot write " + temporary, errno);
        }
        contents.remove_prefix(static_cast<std::size_t>(written));
    }
    if (::fsync(fd.get()) != 0)
        fail("cannot flush " + temporary, errno);
    if (const int error = fd.close(); error != 0)
        fail("cannot close " + temporary, error);
    if (::rename(temporary.c_str(), path.c_str()) != 0)
        fail("cannot rename " + temporary + " to " + path.string(), errno);
}

void syncDirectory(const std::filesystem::path& dir) {
    FileDescriptor fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (fd.get() < 0 || ::fsync(fd.get()) != 0)
        throwErrno("cannot flush directory " + dir.string(), errno);
}

PrivateKey generateKey(const std::string& role) {
    gnutls_x509_privkey_t raw = nullptr;
    checkGnutls(gnutls_x509_privkey_init(&raw), "allocating the " + role + " key");
    PrivateKey key(raw);
    checkGnutls(gnutls_x509_privkey_generate(raw, GNUTLS_PK_ECDSA,
                                             GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0),
                "generating the " + role + " ECDSA P-256 key");
    return key;
}

std::vector<unsigned char> keyId(gnutls_x509_privkey_t key, const std::string& role) {
    std::vector<unsigned char> id(64);
    std::size_t size = id.size();
    checkGnutls(gnutls_x509_privkey_get_key_id(key, GNUTLS_KEYID_USE_SHA1, id.data(), &size),
                "computing the " + role + " key id");
    id.resize(size);
    return id;
}

std::vector<unsigned char> ipAddressBytes(const std::string& address) {
    std::array<unsigned char, 16> bytes{};
    if (::inet_pton(AF_INET, address.c_str(), bytes.data()) == 1)
        return {bytes.begin(), bytes.begin() + 4};
    if (::inet_pton(AF_INET6, address.c_str(), bytes.data()) == 1)
        return {bytes.begin(), bytes.end()};
    throw std::runtime_error("'" + address + "' is not an IPv4 or IPv6 address");
}

struct CertificateSpec {
    std::string role; // for error messages: "CA", "server", "client"
    std::string commonName;
    std::string organization;
    std::time_t notBefore = 0;
    std::time_t notAfter = 0;
    bool isCa = false;
    unsigned keyUsage = 0;
    const char* keyPurpose = nullptr; // extended key usage OID; none for the CA
    std::string dnsName;
    std::vector<std::string> ipAddresses;
};

void setDnComponent(gnutls_x509_crt_t certificate, const char* oid, const std::string& value,
                    const std::string& step) {
    checkGnutls(gnutls_x509_crt_set_dn_by_oid(certificate, oid, 0, value.data(),
                                              static_cast<unsigned>(value.size())),
                step);
}

// issuer/issuerKey null means self-signed.
Certificate makeCertificate(const CertificateSpec& spec, gnutls_x509_privkey_t subjectKey,
                            gnutls_x509_crt_t issuer, gnutls_x509_privkey_t issuerKey) {
    const std::string what = "the " + spec.role + " certificate";
    gnutls_x509_crt_t raw = nullptr;
    checkGnutls(gnutls_x509_crt_init(&raw), "allocating " + what);
    Certificate certificate(raw);

    checkGnutls(gnutls_x509_crt_set_version(raw, 3), "setting the version of " + what);

    // Positive and without a leading zero byte, as RFC 5280 wants serials encoded.
    std::array<unsigned char, 16> serial{};
    checkGnutls(gnutls_rnd(GNUTLS_RND_NONCE, serial.data(), serial.size()),
                "drawing the serial of " + what);
    serial[0] = static_cast<unsigned char>((serial[0] & 0x7f) | 0x40);
    checkGnutls(gnutls_x509_crt_set_serial(raw, serial.data(), serial.size()),
                "setting the serial of " + what);

    checkGnutls(gnutls_x509_crt_set_activation_time(raw, spec.notBefore),
                "setting the start of validity of " + what);
    checkGnutls(gnutls_x509_crt_set_expiration_time(raw, spec.notAfter),
                "setting the end of validity of " + what);

    // By OID rather than a DN string, so names with commas or '=' need no escaping.
    setDnComponent(raw, GNUTLS_OID_X520_COMMON_NAME, spec.commonName,
                   "setting the common name of " + what);
    if (!spec.organization.empty())
        setDnComponent(raw, GNUTLS_OID_X520_ORGANIZATION_NAME, spec.organization,
                       "setting the organisation of " + what);

    checkGnutls(gnutls_x509_crt_set_key(raw, subjectKey), "setting the key of " + what);
    // pathLen 0: this CA signs only leaves. Leaves say CA:FALSE explicitly, which QEMU accepts.
    checkGnutls(gnutls_x509_crt_set_basic_constraints(raw, spec.isCa ? 1 : 0, spec.isCa ? 0 : -1),
                "setting the basic constraints of " + what);
    checkGnutls(gnutls_x509_crt_set_key_usage(raw, spec.keyUsage),
                "setting the key usage of " + what);
    if (spec.keyPurpose != nullptr)
        checkGnutls(gnutls_x509_crt_set_key_purpose_oid(raw, spec.keyPurpose, 0),
                    "setting the key purpose of " + what);

    if (!spec.dnsName.empty())
        checkGnutls(gnutls_x509_crt_set_subject_alt_name(
                        raw, GNUTLS_SAN_DNSNAME, spec.dnsName.data(),
                        static_cast<unsigned>(spec.dnsName.size()), GNUTLS_FSAN_APPEND),
                    "adding DNS name '" + spec.dnsName + "' to " + what);
    for (const std::string& address : spec.ipAddresses) {
        const std::vector<unsigned char> bytes = ipAddressBytes(address);
        checkGnutls(gnutls_x509_crt_set_subject_alt_name(raw, GNUTLS_SAN_IPADDRESS, bytes.data(),
                                                         static_cast<unsigned>(bytes.size()),
                                                         GNUTLS_FSAN_APPEND),
                    "adding IP address " + address + " to " + what);
    }

    const std::vector<unsigned char> subjectKeyId = keyId(subjectKey, spec.role);
    checkGnutls(gnutls_x509_crt_set_subject_key_id(raw, subjectKeyId.data(), subjectKeyId.size()),
                "setting the subject key id of " + what);
    const bool selfSigned = issuer == nullptr;
    const std::vector<unsigned char> authorityKeyId =
        selfSigned ? subjectKeyId : keyId(issuerKey, "issuer");
    checkGnutls(
        gnutls_x509_crt_set_authority_key_id(raw, authorityKeyId.data(), authorityKeyId.size()),
        "setting the authority key id of " + what);

    checkGnutls(gnutls_x509_crt_sign2(raw, selfSigned ? raw : issuer,
                                      selfSigned ? subjectKey : issuerKey, GNUTLS_DIG_SHA256, 0),
                "signing " + what);
    return certificate;
}

void writeCertificate(const std::filesystem::path& path, gnutls_x509_crt_t certificate) {
    ExportedData pem;
    checkGnutls(gnutls_x509_crt_export2(certificate, GNUTLS_X509_FMT_PEM, pem.out()),
                "exporting " + path.string());
    writeFileReplacing(path, pem.view(), 0644);
}

void writePrivateKey(const std::filesystem::path& path, gnutls_x509_privkey_t key) {
    ExportedData pem;
    // Unencrypted PKCS#8: QEMU's tls-creds-x509 reads it without a passwordid.
    checkGnutls(gnutls_x509_privkey_export2_pkcs8(key, GNUTLS_X509_FMT_PEM, nullptr,
                                                  GNUTLS_PKCS_PLAIN, pem.out()),
                "exporting " + path.string());
    writeFileReplacing(path, pem.view(), 0600);
}

// keyEncipherment means nothing to ECDHE, but QEMU refuses a leaf whose critical key usage
// lacks it (crypto/tlscredsx509.c), and GnuTLS marks key usage critical.
constexpr unsigned kLeafUsage = GNUTLS_KEY_DIGITAL_SIGNATURE | GNUTLS_KEY_KEY_ENCIPHERMENT;

CertificateSpec clientSpecFor(const std::string& name, std::time_t notBefore,
                              std::time_t notAfter) {
    CertificateSpec spec;
    spec.role = "client";
    spec.commonName = name;
    spec.organization = "Migrascope";
    spec.notBefore = notBefore;
    spec.notAfter = notAfter;
    spec.keyUsage = kLeafUsage;
    spec.keyPurpose = GNUTLS_KP_TLS_WWW_CLIENT;
    return spec;
}

// A PEM file GnuTLS reads, handed to `import` (which returns GnuTLS's code).
template <typename Import> void importPem(const std::filesystem::path& path, Import import) {
    gnutls_datum_t pem{nullptr, 0};
    checkGnutls(gnutls_load_file(path.c_str(), &pem), "reading " + path.string());
    const int rc = import(pem);
    gnutls_memset(pem.data, 0, pem.size);
    gnutls_free(pem.data);
    checkGnutls(rc, "decoding " + path.string());
}

} // namespace

void generatePki(const std::string& dir, const PkiOptions& options) {
    try {
        const std::filesystem::path directory(dir);
        makeDirectories(directory);

        const std::time_t now = std::time(nullptr);
        const std::time_t leafStart = now + options.leafValidFromSeconds;
        const std::time_t leafEnd = leafStart + options.leafValidForSeconds;

        // The CA outlives its leaves, so an expired-leaf test sees only the leaf expire.
        CertificateSpec caSpec;
        caSpec.role = "CA";
        caSpec.commonName = options.caName;
        caSpec.organization = "Migrascope";
        caSpec.notBefore = std::min<std::time_t>(now - 3600, leafStart);
        caSpec.notAfter = std::max<std::time_t>(now + kCaValidSeconds, leafEnd);
        caSpec.isCa = true;
        caSpec.keyUsage = GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN;

        CertificateSpec serverSpec;
        serverSpec.role = "server";
        serverSpec.commonName = options.serverName;
        serverSpec.organization = "Migrascope";
        serverSpec.notBefore = leafStart;
        serverSpec.notAfter = leafEnd;
        serverSpec.keyUsage = kLeafUsage;
        serverSpec.keyPurpose = GNUTLS_KP_TLS_WWW_SERVER;
        serverSpec.dnsName = options.serverName;
        serverSpec.ipAddresses = options.serverAddresses;

        const CertificateSpec clientSpec = clientSpecFor(options.clientName, leafStart, leafEnd);

        const PrivateKey caKey = generateKey("CA");
        const Certificate caCert = makeCertificate(caSpec, caKey.get(), nullptr, nullptr);
        const PrivateKey serverKey = generateKey("server");
        const Certificate serverCert =
            makeCertificate(serverSpec, serverKey.get(), caCert.get(), caKey.get());
        const PrivateKey clientKey = generateKey("client");
        const Certificate clientCert =
            makeCertificate(clientSpec, clientKey.get(), caCert.get(), caKey.get());

        // ca-cert.pem last: ensureDefaultPki() takes its presence to mean the set is complete.
        writePrivateKey(directory / "server-key.pem", serverKey.get());
        writeCertificate(directory / "server-cert.pem", serverCert.get());
        writePrivateKey(directory / "client-key.pem", clientKey.get());
        writeCertificate(directory / "client-cert.pem", clientCert.get());
        writePrivateKey(directory / "ca-key.pem", caKey.get());
        writeCertificate(directory / "ca-cert.pem", caCert.get());
        syncDirectory(directory);
    } catch (const std::runtime_error& error) {
        throw std::runtime_error("cannot generate the TLS PKI in " + dir + ": " + error.what());
    }
}

void issueClientIdentity(const std::string& caDir, const std::string& dir,
                         const std::string& clientName) {
    try {
        const std::filesystem::path from(caDir);
        const std::filesystem::path directory(dir);
        gnutls_x509_crt_t rawCa = nullptr;
        checkGnutls(gnutls_x509_crt_init(&rawCa), "creating the CA certificate");
        const Certificate caCert(rawCa);
        importPem(from / "ca-cert.pem", [&](const gnutls_datum_t& pem) {
            return gnutls_x509_crt_import(caCert.get(), &pem, GNUTLS_X509_FMT_PEM);
        });
        gnutls_x509_privkey_t rawKey = nullptr;
        checkGnutls(gnutls_x509_privkey_init(&rawKey), "creating the CA key");
        const PrivateKey caKey(rawKey);
        importPem(from / "ca-key.pem", [&](const gnutls_datum_t& pem) {
            return gnutls_x509_privkey_import(caKey.get(), &pem, GNUTLS_X509_FMT_PEM);
        });
        makeDirectories(directory);
        const std::time_t now = std::time(nullptr);
        const std::time_t caEnd = gnutls_x509_crt_get_expiration_time(caCert.get());
        const PrivateKey clientKey = generateKey("client");
        const Certificate clientCert = makeCertificate(
            clientSpecFor(clientName, now - 3600, std::min(caEnd, now + kCaValidSeconds)),
            clientKey.get(), caCert.get(), caKey.get());
        writePrivateKey(directory / "client-key.pem", clientKey.get());
        writeCertificate(directory / "client-cert.pem", clientCert.get());
        writeCertificate(directory / "ca-cert.pem", caCert.get());
        syncDirectory(directory);
    } catch (const std::runtime_error& error) {
        throw std::runtime_error("cannot issue a client identity in " + dir + " from " + caDir +
                                 ": " + error.what());
    }
}

std::string defaultPkiDirectory() {
    return (userConfigHome() / "migrascope" / "pki").string();
}

std::string ensureDefaultPki() {
    const std::string dir = defaultPkiDirectory();
    makeDirectories(dir);
    // A window and a headless run may start together: without the lock both would generate and
    // interleave their files, leaving server and CA certificates that do not match.
    FileDescriptor lock(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (lock.get() < 0)
        throwErrno("cannot open " + dir, errno);
    while (::flock(lock.get(), LOCK_EX) != 0) {
        if (errno != EINTR)
            throwErrno("cannot lock " + dir, errno);
    }
    const std::string caCertificate = dir + "/ca-cert.pem";
    struct stat status {};
    if (::stat(caCertificate.c_str(), &status) == 0)
        return dir;
    if (errno != ENOENT)
        throwErrno("cannot inspect " + caCertificate, errno);
    generatePki(dir);
    return dir;
}

} // namespace migrascope
