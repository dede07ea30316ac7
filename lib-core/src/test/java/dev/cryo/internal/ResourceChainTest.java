package dev.cryo.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class ResourceChainTest {
    private final List<String> calls = new ArrayList<>();

    @AfterEach
    void clearInterrupt() {
        Thread.interrupted();
    }

    private ResourceChain<String, String> chain(String failBefore, String failAfter) {
        return ResourceChain.of(r -> {
            calls.add("before " + r);
            if (r.equals(failBefore)) {
                throw new IllegalStateException("no " + r);
            }
        }, (r, o) -> {
            calls.add("after " + r + " " + o);
            if (r.equals(failAfter)) {
                throw new InterruptedException("stop " + r);
            }
        });
    }

    @Test
    @DisplayName("beforeCheckpoint runs last-registered first, afterRestore in registration order")
    void order() {
        ResourceChain<String, String> c = chain(null, null);
        List.of("a", "b", "c").forEach(c::register);
        var notified = c.beforeCheckpoint();
        assertTrue(notified.failures().isEmpty());
        assertEquals(List.of("a", "b", "c"), notified.ready());
        assertTrue(c.afterRestore(notified.ready(), "x").isEmpty());
        assertEquals(List.of("before c", "before b", "before a", "after a x", "after b x", "after c x"), calls);
    }

    @Test
    @DisplayName("a failure does not stop the others; the failed one is not ready")
    void failureCollected() {
        ResourceChain<String, String> c = chain("b", null);
        List.of("a", "b", "c").forEach(c::register);
        var notified = c.beforeCheckpoint();
        assertEquals(List.of("a", "c"), notified.ready());
        assertEquals(1, notified.failures().size());
        assertTrue(notified.failures().get(0).getMessage().contains("beforeCheckpoint of b failed"));
        assertEquals(List.of("before c", "before b", "before a"), calls);
    }

    @Test
    @DisplayName("afterRestore failures are collected and an interrupt is kept")
    void interruptKept() {
        ResourceChain<String, String> c = chain(null, "a");
        List.of("a", "b").forEach(c::register);
        List<Exception> failures = c.afterRestore(c.beforeCheckpoint().ready(), "x");
        assertEquals(1, failures.size());
        assertTrue(failures.get(0).getCause() instanceof InterruptedException);
        assertTrue(Thread.currentThread().isInterrupted(), "interrupt flag set again");
        assertEquals(List.of("before b", "before a", "after a x", "after b x"), calls);
    }
}
