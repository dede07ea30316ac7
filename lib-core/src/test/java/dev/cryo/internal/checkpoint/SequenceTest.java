package dev.cryo.internal.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.cryo.ApiAccessForTests;
import dev.cryo.CheckpointException;
import dev.cryo.CheckpointOutcome;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class SequenceTest {
    private final ApiAccessForTests api = new ApiAccessForTests();
    private final List<String> calls = new ArrayList<>();

    /** A step that records its calls; {@code fail} names the hook that throws, if any. */
    private Step<Done> step(String name, String fail) {
        return new Step<>() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public Done run() throws CheckpointException {
                calls.add("run " + name);
                if ("run".equals(fail)) {
                    throw api.checkpointFailure(CheckpointException.Reason.DUMP_FAILED, name + " failed", null);
                }
                return new Done() {
                    @Override
                    public void undo(Resumption r) {
                        call("undo", r);
                    }

                    @Override
                    public void afterDump(Resumption r) {
                        call("afterDump", r);
                    }

                    @Override
                    public void afterRestore(Resumption r) {
                        call("afterRestore", r);
                    }

                    private void call(String hook, Resumption r) {
                        calls.add(hook + " " + name + " " + r.outcome().kind());
                        if (hook.equals(fail)) {
                            throw new IllegalStateException(hook + " of " + name + " failed");
                        }
                    }
                };
            }
        };
    }

    @Test
    @DisplayName("a failed step undoes every step before it, last first; undo failures are suppressed on the one exception")
    void unwind() throws CheckpointException {
        Sequence s = new Sequence(api);
        s.run(step("a", null));
        s.run(step("b", "undo"));
        s.run(step("c", null));
        CheckpointException e = assertThrows(CheckpointException.class, () -> s.run(step("d", "run")));
        assertEquals("d failed", e.getMessage());
        assertEquals(List.of("run a", "run b", "run c", "run d", "undo c SKIPPED", "undo b SKIPPED",
                "undo a SKIPPED"), calls);
        assertEquals(List.of("undo of b failed"), Arrays.stream(e.getSuppressed()).map(Throwable::getMessage).toList());
        assertEquals(List.of("a", "b", "c"), List.copyOf(s.millis().keySet()));
    }

    @Test
    @DisplayName("an unexpected exception in a step unwinds too, and stays what it was")
    void unexpected() throws CheckpointException {
        Sequence s = new Sequence(api);
        s.run(step("a", null));
        IllegalStateException bug = new IllegalStateException("bug");
        IllegalStateException thrown = assertThrows(IllegalStateException.class, () -> s.run(new Step<Done>() {
            @Override
            public String name() {
                return "broken";
            }

            @Override
            public Done run() {
                throw bug;
            }
        }));
        assertSame(bug, thrown);
        assertEquals(List.of("run a", "undo a SKIPPED"), calls);
    }

    @Test
    @DisplayName("after the dump every step's hook runs, last first, even after one failed")
    void afterDump() throws CheckpointException {
        Sequence s = new Sequence(api);
        s.run(step("a", null));
        s.run(step("b", "afterDump"));
        s.run(step("c", null));
        CheckpointOutcome outcome = api.outcome(CheckpointOutcome.Kind.CHECKPOINTED, null, "x", null, Duration.ZERO);
        Resumption r = s.afterDump(outcome);
        assertEquals(List.of("afterDump c CHECKPOINTED", "afterDump b CHECKPOINTED", "afterDump a CHECKPOINTED"),
                calls.subList(3, calls.size()));
        assertEquals(List.of("afterDump of b failed"), r.failures().stream().map(Throwable::getMessage).toList());
    }

    @Test
    @DisplayName("in a restored copy every step's afterRestore runs, last first, timed where the hook says")
    void afterRestore() throws CheckpointException {
        Sequence s = new Sequence(api);
        s.run(step("a", "afterRestore"));
        s.run(step("b", null));
        Map<String, Long> millis = new LinkedHashMap<>();
        CheckpointOutcome outcome = api.outcome(CheckpointOutcome.Kind.RESTORED, null, "x", null, Duration.ZERO);
        Resumption r = s.afterRestore(outcome, millis);
        r.record("part", 7);
        assertEquals(List.of("afterRestore b RESTORED", "afterRestore a RESTORED"), calls.subList(2, calls.size()));
        assertEquals(1, r.failures().size());
        assertEquals(Map.of("part", 7L), millis);
        assertTrue(s.millis().keySet().containsAll(List.of("a", "b")));
    }
}
