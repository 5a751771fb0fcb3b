// Why the destination turns a connection away or fails, as the connection's thread needs to
// tell them apart.
#pragma once

#include "engine/common/migration_error.h"

namespace migrascope {

// A resume connection this destination will not take. The paused migration goes on
// waiting; only the connection is turned away.
class ResumeRefused : public MigrationError {
public:
    using MigrationError::MigrationError;
};

// A resume for a migration this destination has already verified and completed: the
// connection broke after its SHUT 0 left. It answers SHUT 0 again.
class AlreadyCompleted : public MigrationError {
public:
    using MigrationError::MigrationError;
};

class IntegrityError : public MigrationError {
public:
    using MigrationError::MigrationError;
};

} // namespace migrascope
