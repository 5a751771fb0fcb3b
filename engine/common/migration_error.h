#pragma once

#include <stdexcept>

namespace migrascope {

// Every error that ends a migration; the message is what the operator reads.
class MigrationError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// The transport failed: a connection was refused, closed, reset or shut down, or its TLS
// session broke. During postcopy this pauses the migration instead of failing it (QEMU
// pauses only on I/O errors too; a protocol or integrity error still fails).
class ConnectionError : public MigrationError {
public:
    using MigrationError::MigrationError;
};

} // namespace migrascope
