// The VFIO migration uAPI v2 state machine, pair by pair under every flag combination.
#include "vfio/device_state.h"

#include <QtTest>
#include <deque>
#include <map>

using namespace migrascope::vfio;

namespace {

const std::uint64_t kFlagSets[] = {
    kMigrationStopCopy,
    kMigrationStopCopy | kMigrationP2P,
    kMigrationStopCopy | kMigrationPreCopy,
    kMigrationStopCopy | kMigrationP2P | kMigrationPreCopy,
};

std::vector<DeviceState> allStates() {
    std::vector<DeviceState> states;
    for (std::uint32_t value = 0; value < kStateCount; ++value)
        states.push_back(static_cast<DeviceState>(value));
    return states;
}

// An oracle built from the uAPI's words, not the kernel's table: the shortest chain of direct
// arcs in which the saving-group states (one data session) may only lead or trail: a path may
// start inside the group and leave it at once, or enter it and end there, but never enter and
// leave again. STOP_COPY -> PRE_COPY(_P2P) is refused.
std::optional<std::vector<DeviceState>> documentedPath(std::uint64_t flags, DeviceState from,
                                                       DeviceState to) {
    if (!supports(flags, from) || !supports(flags, to))
        return std::nullopt;
    if (from == DeviceState::StopCopy &&
        (to == DeviceState::PreCopy || to == DeviceState::PreCopyP2P))
        return std::nullopt;
    enum Phase { Leading, Outside, Trailing };
    using Node = std::pair<DeviceState, Phase>;
    const Node start{from, isSavingState(from) ? Leading : Outside};
    std::map<Node, Node> cameFrom{{start, start}};
    std::deque<Node> queue{start};
    std::optional<Node> reached;
    while (!queue.empty() && !reached) {
        const Node node = queue.front();
        queue.pop_front();
        for (DeviceState next : allStates()) {
            if (!isDirectArc(flags, node.first, next))
                continue;
            Phase phase;
            if (isSavingState(next)) {
                // Moving within the group only makes sense when the path ends in it; a path
                // to a state outside leaves the group at once.
                if (node.second == Leading && !isSavingState(to))
                    continue;
                phase = node.second == Outside ? Trailing : node.second;
            } else if (node.second == Trailing)
                continue; // entered the group mid-path: it may not be left again
            else
                phase = Outside;
            const Node child{next, phase};
            if (cameFrom.count(child))
                continue;
            cameFrom[child] = node;
            if (next == to) {
                reached = child;
                break;
            }
            queue.push_back(child);
        }
    }
    if (from == to)
        return std::vector<DeviceState>{};
    if (!reached)
        return std::nullopt;
    std::vector<DeviceState> path;
    for (Node node = *reached; node != start; node = cameFrom[node])
        path.insert(path.begin(), node.first);
    return path;
}

QString text(const std::optional<std::vector<DeviceState>>& path) {
    if (!path)
        return "-EINVAL";
    QStringList names;
    for (DeviceState state : *path)
        names << toString(state);
    return names.isEmpty() ? "(stay)" : names.join(" > ");
}

} // namespace

class TestVfioStateMachine : public QObject {
    Q_OBJECT

private slots:
    void numbersAreTheKernels() {
        QCOMPARE(static_cast<int>(DeviceState::Error), 0);
        QCOMPARE(static_cast<int>(DeviceState::Stop), 1);
        QCOMPARE(static_cast<int>(DeviceState::Running), 2);
        QCOMPARE(static_cast<int>(DeviceState::StopCopy), 3);
        QCOMPARE(static_cast<int>(DeviceState::Resuming), 4);
        QCOMPARE(static_cast<int>(DeviceState::RunningP2P), 5);
        QCOMPARE(static_cast<int>(DeviceState::PreCopy), 6);
        QCOMPARE(static_cast<int>(DeviceState::PreCopyP2P), 7);
        QCOMPARE(kMigrationStopCopy, std::uint64_t{1});
        QCOMPARE(kMigrationP2P, std::uint64_t{2});
        QCOMPARE(kMigrationPreCopy, std::uint64_t{4});
    }

    void everyPairUnderEveryFlagSetTakesTheKernelsPath_data() {
        QTest::addColumn<quint64>("flags");
        QTest::addColumn<int>("from");
        QTest::addColumn<int>("to");
        for (std::uint64_t flags : kFlagSets)
            for (DeviceState from : allStates())
                for (DeviceState to : allStates())
                    QTest::addRow("%s %s>%s", describeFlags(flags).c_str(), toString(from),
                                  toString(to))
                        << quint64(flags) << int(from) << int(to);
    }
    void everyPairUnderEveryFlagSetTakesTheKernelsPath() {
        QFETCH(quint64, flags);
        QFETCH(int, from);
        QFETCH(int, to);
        const auto kernel = resolvePath(flags, DeviceState(from), DeviceState(to));
        const auto documented = documentedPath(flags, DeviceState(from), DeviceState(to));
        QCOMPARE(text(kernel), text(documented));
        if (kernel)
            for (std::size_t i = 0; i < kernel->size(); ++i)
                QVERIFY(isDirectArc(flags, i == 0 ? DeviceState(from) : (*kernel)[i - 1],
                                    (*kernel)[i]));
    }

    void pathsNamedInTheUapiFacts() {
        const auto all = kMigrationStopCopy | kMigrationP2P | kMigrationPreCopy;
        const auto preCopyOnly = kMigrationStopCopy | kMigrationPreCopy;
        const auto p2p = kMigrationStopCopy | kMigrationP2P;
        using S = DeviceState;
        QCOMPARE(text(resolvePath(kMigrationStopCopy, S::Resuming, S::Running)),
                 QString("STOP > RUNNING"));
        QCOMPARE(text(resolvePath(p2p, S::Running, S::StopCopy)),
                 QString("RUNNING_P2P > STOP > STOP_COPY"));
        QCOMPARE(text(resolvePath(p2p, S::StopCopy, S::Running)),
                 QString("STOP > RUNNING_P2P > RUNNING"));
        QCOMPARE(text(resolvePath(preCopyOnly, S::PreCopy, S::Resuming)),
                 QString("RUNNING > STOP > RESUMING"));
        QCOMPARE(text(resolvePath(preCopyOnly, S::PreCopy, S::StopCopy)), QString("STOP_COPY"));
        QCOMPARE(text(resolvePath(all, S::PreCopy, S::StopCopy)),
                 QString("PRE_COPY_P2P > STOP_COPY"));
        QCOMPARE(text(resolvePath(all, S::Resuming, S::PreCopy)),
                 QString("STOP > RUNNING_P2P > RUNNING > PRE_COPY"));
        QCOMPARE(text(resolvePath(all, S::PreCopy, S::Stop)),
                 QString("RUNNING > RUNNING_P2P > STOP"));
    }

    // Before the June 2026 fix this request looped forever inside the kernel.
    void blockedStopCopyToPreCopyIsAnErrorNotALoop() {
        for (std::uint64_t flags : {kMigrationStopCopy | kMigrationPreCopy,
                                    kMigrationStopCopy | kMigrationP2P | kMigrationPreCopy}) {
            QVERIFY(!nextState(flags, DeviceState::StopCopy, DeviceState::PreCopy));
            QVERIFY(!resolvePath(flags, DeviceState::StopCopy, DeviceState::PreCopy));
        }
        QVERIFY(!nextState(kMigrationStopCopy | kMigrationP2P | kMigrationPreCopy,
                           DeviceState::StopCopy, DeviceState::PreCopyP2P));
    }

    void errorCanBeNeitherRequestedNorLeftByAnArc() {
        for (std::uint64_t flags : kFlagSets)
            for (DeviceState state : allStates()) {
                QVERIFY(!resolvePath(flags, state, DeviceState::Error));
                QVERIFY(!resolvePath(flags, DeviceState::Error, state));
            }
    }

    void optionalStatesNeedTheirFlags() {
        QVERIFY(!resolvePath(kMigrationStopCopy, DeviceState::Running, DeviceState::RunningP2P));
        QVERIFY(!resolvePath(kMigrationStopCopy | kMigrationP2P, DeviceState::Running,
                             DeviceState::PreCopy));
        QVERIFY(!resolvePath(0, DeviceState::Running, DeviceState::Stop)); // STOP_COPY is mandatory
    }
};

QTEST_GUILESS_MAIN(TestVfioStateMachine)
#include "tst_vfio_state_machine.moc"
