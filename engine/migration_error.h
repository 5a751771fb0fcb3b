#pragma once

#include <stdexcept>

namespace migrascope {

// Every error that ends a migration; the message is what the operator reads.
class MigrationError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

} // namespace migrascope
