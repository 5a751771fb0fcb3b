#include "engine/api/tls_pki.h"

#include <QFile>
#include <QFileInfo>
#include <QTemporaryDir>
#include <QtTest>
#include <cstring>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <memory>
#include <optional>
#include <sys/stat.h>
#include <type_traits>
#include <vector>

using namespace migrascope;

namespace {

struct CertificateDeleter {
    void operator()(gnutls_x509_crt_t certificate) const { gnutls_x509_crt_deinit(certificate); }
};
using Certificate = std::unique_ptr<std::remove_pointer_t<gnutls_x509_crt_t>, CertificateDeleter>;

struct TrustListDeleter {
    void operator()(gnutls_x509_trust_list_t list) const {
        gnutls_x509_trust_list_deinit(list, 1); // also frees the CAs it took
    }
};
using TrustList =
    std::unique_ptr<std::remove_pointer_t<gnutls_x509_trust_list_t>, TrustListDeleter>;

struct CredentialsDeleter {
    void operator()(gnutls_certificate_credentials_t credentials) const {
        gnutls_certificate_free_credentials(credentials);
    }
};
using Credentials =
    std::unique_ptr<std::remove_pointer_t<gnutls_certificate_credentials_t>, CredentialsDeleter>;

Certificate loadCertificate(const QString& path) {
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return nullptr;
    QByteArray pem = file.readAll();
    gnutls_x509_crt_t raw = nullptr;
    if (gnutls_x509_crt_init(&raw) < 0)
        return nullptr;
    Certificate certificate(raw);
    const gnutls_datum_t datum{reinterpret_cast<unsigned char*>(pem.data()),
                               static_cast<unsigned>(pem.size())};
    if (gnutls_x509_crt_import(raw, &datum, GNUTLS_X509_FMT_PEM) < 0)
        return nullptr;
    return certificate;
}

// Verifies certFile against caFile as a TLS peer would; nullopt when verification could not run.
std::optional<unsigned> verificationStatus(const QString& caFile, const QString& certFile,
                                           const char* hostname, const char* purpose) {
    Certificate ca = loadCertificate(caFile);
    Certificate certificate = loadCertificate(certFile);
    gnutls_x509_trust_list_t rawList = nullptr;
    if (!ca || !certificate || gnutls_x509_trust_list_init(&rawList, 0) < 0)
        return std::nullopt;
    TrustList list(rawList);
    gnutls_x509_crt_t caRaw = ca.release();
    if (gnutls_x509_trust_list_add_cas(rawList, &caRaw, 1, 0) != 1)
        return std::nullopt;

    std::vector<gnutls_typed_vdata_st> data;
    auto addText = [&](gnutls_vdata_types_t type, const char* text) {
        data.push_back({type, reinterpret_cast<unsigned char*>(const_cast<char*>(text)),
                        static_cast<unsigned>(std::strlen(text))});
    };
    if (hostname != nullptr)
        addText(GNUTLS_DT_DNS_HOSTNAME, hostname);
    if (purpose != nullptr)
        addText(GNUTLS_DT_KEY_PURPOSE_OID, purpose);

    gnutls_x509_crt_t chain = certificate.get();
    unsigned status = 0;
    if (gnutls_x509_trust_list_verify_crt2(rawList, &chain, 1, data.data(),
                                           static_cast<unsigned>(data.size()), 0, &status,
                                           nullptr) < 0)
        return std::nullopt;
    return status;
}

unsigned permissions(const QString& path) {
    struct stat status {};
    if (::stat(QFile::encodeName(path).constData(), &status) != 0)
        return 0xffff;
    return status.st_mode & 07777;
}

QByteArray contents(const QString& path) {
    QFile file(path);
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

const QStringList kPkiFiles = {"ca-cert.pem",    "ca-key.pem",      "server-cert.pem",
                               "server-key.pem", "client-cert.pem", "client-key.pem"};

} // namespace

class TestTlsPki : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void writesQemuLayoutWithPrivateKeysUnderPermissiveUmask();
    void qemuCanLoadTheKeyPairs();
    void serverCertificateMatchesLocalNames_data();
    void serverCertificateMatchesLocalNames();
    void certificatesCarryThePurposesQemuChecks();
    void certificateOfAnotherPkiIsRejected();
    void expiredLeafIsReportedExpired();
    void ensureDefaultPkiGeneratesOnlyOnce();

private:
    QString file(const QString& name) const { return pkiDir_ + "/" + name; }

    QTemporaryDir scratch_;
    QString pkiDir_;
};

void TestTlsPki::initTestCase() {
    QVERIFY(scratch_.isValid());
    pkiDir_ = scratch_.filePath("main-pki");
    generatePki(pkiDir_.toStdString());
}

void TestTlsPki::writesQemuLayoutWithPrivateKeysUnderPermissiveUmask() {
    const QString dir = scratch_.filePath("nested/permissive/pki");
    {
        const mode_t previous = ::umask(0);
        auto restore = qScopeGuard([previous] { ::umask(previous); });
        generatePki(dir.toStdString());
    }

    QCOMPARE(permissions(dir), 0700u);
    for (const QString& name : kPkiFiles) {
        const QString path = dir + "/" + name;
        QVERIFY2(QFileInfo::exists(path), qPrintable(path));
        if (name.endsWith("-key.pem"))
            QCOMPARE(permissions(path), 0600u);
        else
            QCOMPARE(permissions(path) & 022u, 0u); // nobody else may replace a certificate
    }
    // Nothing left behind by the atomic replacement.
    QCOMPARE(QDir(dir).entryList(QDir::Files | QDir::Hidden).size(), kPkiFiles.size());
}

void TestTlsPki::qemuCanLoadTheKeyPairs() {
    // QEMU's tls-creds-x509 loads each pair with this call; a mismatched or unreadable key fails.
    for (const char* role : {"server", "client"}) {
        gnutls_certificate_credentials_t raw = nullptr;
        QVERIFY(gnutls_certificate_allocate_credentials(&raw) >= 0);
        Credentials credentials(raw);
        const QByteArray cert = QFile::encodeName(file(QString(role) + "-cert.pem"));
        const QByteArray key = QFile::encodeName(file(QString(role) + "-key.pem"));
        const int rc = gnutls_certificate_set_x509_key_file(raw, cert.constData(), key.constData(),
                                                            GNUTLS_X509_FMT_PEM);
        QVERIFY2(rc >= 0, gnutls_strerror(rc));
    }
}

void TestTlsPki::serverCertificateMatchesLocalNames_data() {
    QTest::addColumn<QByteArray>("hostname");
    QTest::addColumn<bool>("accepted");
    QTest::newRow("localhost") << QByteArray("localhost") << true;
    QTest::newRow("IPv4 loopback") << QByteArray("127.0.0.1") << true;
    QTest::newRow("IPv6 loopback") << QByteArray("::1") << true;
    QTest::newRow("other host") << QByteArray("otherhost") << false;
    QTest::newRow("other address") << QByteArray("127.0.0.2") << false;
}

void TestTlsPki::serverCertificateMatchesLocalNames() {
    QFETCH(QByteArray, hostname);
    QFETCH(bool, accepted);
    const auto status = verificationStatus(file("ca-cert.pem"), file("server-cert.pem"),
                                           hostname.constData(), GNUTLS_KP_TLS_WWW_SERVER);
    QVERIFY(status);
    if (accepted) {
        QCOMPARE(*status, 0u);
    } else {
        QVERIFY(*status & GNUTLS_CERT_INVALID);
        QVERIFY(*status & GNUTLS_CERT_UNEXPECTED_OWNER);
    }

    // QEMU's own hostname check (qcrypto_tls_session_check_certificate) agrees.
    const Certificate server = loadCertificate(file("server-cert.pem"));
    QVERIFY(server);
    QCOMPARE(gnutls_x509_crt_check_hostname(server.get(), hostname.constData()) != 0, accepted);
}

void TestTlsPki::certificatesCarryThePurposesQemuChecks() {
    const auto client = verificationStatus(file("ca-cert.pem"), file("client-cert.pem"), nullptr,
                                           GNUTLS_KP_TLS_WWW_CLIENT);
    QVERIFY(client);
    QCOMPARE(*client, 0u);
    // A stolen client certificate must not let its holder pose as a destination.
    const auto clientAsServer = verificationStatus(file("ca-cert.pem"), file("client-cert.pem"),
                                                   nullptr, GNUTLS_KP_TLS_WWW_SERVER);
    QVERIFY(clientAsServer);
    QVERIFY(*clientAsServer & GNUTLS_CERT_PURPOSE_MISMATCH);

    // QEMU refuses leaves whose critical key usage lacks either of these, and a CA without
    // certificate signing.
    for (const char* leaf : {"server-cert.pem", "client-cert.pem"}) {
        const Certificate certificate = loadCertificate(file(leaf));
        QVERIFY(certificate);
        unsigned usage = 0;
        QVERIFY(gnutls_x509_crt_get_key_usage(certificate.get(), &usage, nullptr) >= 0);
        QVERIFY2(usage & GNUTLS_KEY_DIGITAL_SIGNATURE, leaf);
        QVERIFY2(usage & GNUTLS_KEY_KEY_ENCIPHERMENT, leaf);
        QCOMPARE(
            gnutls_x509_crt_get_basic_constraints(certificate.get(), nullptr, nullptr, nullptr), 0);
    }
    const Certificate ca = loadCertificate(file("ca-cert.pem"));
    QVERIFY(ca);
    unsigned usage = 0;
    QVERIFY(gnutls_x509_crt_get_key_usage(ca.get(), &usage, nullptr) >= 0);
    QVERIFY(usage & GNUTLS_KEY_KEY_CERT_SIGN);
    QVERIFY(gnutls_x509_crt_get_basic_constraints(ca.get(), nullptr, nullptr, nullptr) > 0);
}

void TestTlsPki::certificateOfAnotherPkiIsRejected() {
    const QString otherDir = scratch_.filePath("other-pki");
    generatePki(otherDir.toStdString());
    const auto status = verificationStatus(file("ca-cert.pem"), otherDir + "/server-cert.pem",
                                           "localhost", GNUTLS_KP_TLS_WWW_SERVER);
    QVERIFY(status);
    QVERIFY(*status & GNUTLS_CERT_INVALID);
    QVERIFY(*status & GNUTLS_CERT_SIGNER_NOT_FOUND);
    // Each PKI has its own CA key: generation does not reuse anything.
    QVERIFY(contents(file("ca-key.pem")) != contents(otherDir + "/ca-key.pem"));
}

void TestTlsPki::expiredLeafIsReportedExpired() {
    const QString dir = scratch_.filePath("expired-pki");
    PkiOptions options;
    options.leafValidFromSeconds = -2 * 24 * 3600;
    options.leafValidForSeconds = 24 * 3600;
    generatePki(dir.toStdString(), options);
    const auto status = verificationStatus(dir + "/ca-cert.pem", dir + "/server-cert.pem",
                                           "localhost", GNUTLS_KP_TLS_WWW_SERVER);
    QVERIFY(status);
    QVERIFY(*status & GNUTLS_CERT_INVALID);
    QVERIFY(*status & GNUTLS_CERT_EXPIRED);
    QVERIFY(!(*status & GNUTLS_CERT_SIGNER_NOT_FOUND)); // the chain itself is fine
}

void TestTlsPki::ensureDefaultPkiGeneratesOnlyOnce() {
    const QByteArray previousConfigHome = qgetenv("XDG_CONFIG_HOME");
    const bool hadConfigHome = qEnvironmentVariableIsSet("XDG_CONFIG_HOME");
    const QString configHome = scratch_.filePath("config-home");
    qputenv("XDG_CONFIG_HOME", QFile::encodeName(configHome));
    auto restore = qScopeGuard([&] {
        if (hadConfigHome)
            qputenv("XDG_CONFIG_HOME", previousConfigHome);
        else
            qunsetenv("XDG_CONFIG_HOME");
    });

    const QString expectedDir = configHome + "/migrascope/pki";
    QCOMPARE(QString::fromStdString(defaultPkiDirectory()), expectedDir);
    QVERIFY(!QFileInfo::exists(expectedDir + "/ca-cert.pem"));

    QCOMPARE(QString::fromStdString(ensureDefaultPki()), expectedDir);
    QCOMPARE(permissions(expectedDir), 0700u);
    const QByteArray firstCa = contents(expectedDir + "/ca-cert.pem");
    const QByteArray firstServerKey = contents(expectedDir + "/server-key.pem");
    QVERIFY(firstCa.startsWith("-----BEGIN CERTIFICATE-----"));
    QVERIFY(!firstServerKey.isEmpty());
    const QDateTime firstModified = QFileInfo(expectedDir + "/ca-cert.pem").lastModified();

    QCOMPARE(QString::fromStdString(ensureDefaultPki()), expectedDir);
    QCOMPARE(contents(expectedDir + "/ca-cert.pem"), firstCa);
    QCOMPARE(contents(expectedDir + "/server-key.pem"), firstServerKey);
    QCOMPARE(QFileInfo(expectedDir + "/ca-cert.pem").lastModified(), firstModified);
}

QTEST_GUILESS_MAIN(TestTlsPki)
#include "tst_tls_pki.moc"
