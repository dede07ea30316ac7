package dev.cryo.internal;

import java.util.ArrayList;
import java.util.List;

/**
 * The registered resources and their notification order (CRaC's): {@code beforeCheckpoint} in
 * reverse registration order, {@code afterRestore} in registration order. Every resource is
 * notified even when an earlier one fails; failures are collected, never lost.
 *
 * @param <R> the resource type
 * @param <O> what {@code afterRestore} receives
 */
public final class ResourceChain<R, O> {

    /** How to call one resource. */
    public interface Callbacks<R, O> {
        void beforeCheckpoint(R resource) throws Exception;

        void afterRestore(R resource, O outcome) throws Exception;
    }

    private final List<R> resources = new ArrayList<>();
    private final Callbacks<R, O> callbacks;

    public ResourceChain(Callbacks<R, O> callbacks) {
        this.callbacks = callbacks;
    }

    public synchronized void register(R resource) {
        resources.add(resource);
    }

    public synchronized int size() {
        return resources.size();
    }

    /**
     * Calls {@code beforeCheckpoint} on every resource, last registered first. Returns the ones
     * that succeeded (in registration order) and the failures.
     */
    public Notified<R> beforeCheckpoint() {
        List<R> snapshot;
        synchronized (this) {
            snapshot = List.copyOf(resources);
        }
        List<R> ready = new ArrayList<>();
        List<Exception> failures = new ArrayList<>();
        for (int i = snapshot.size() - 1; i >= 0; i--) {
            R r = snapshot.get(i);
            try {
                callbacks.beforeCheckpoint(r);
                ready.add(0, r);
            } catch (Exception e) {
                failures.add(wrap("beforeCheckpoint", r, e));
            }
        }
        return new Notified<>(ready, failures);
    }

    /** Calls {@code afterRestore} on {@code ready} in registration order; returns the failures. */
    public List<Exception> afterRestore(List<R> ready, O outcome) {
        List<Exception> failures = new ArrayList<>();
        for (R r : ready) {
            try {
                callbacks.afterRestore(r, outcome);
            } catch (Exception e) {
                failures.add(wrap("afterRestore", r, e));
            }
        }
        return failures;
    }

    private static Exception wrap(String phase, Object resource, Exception e) {
        if (e instanceof InterruptedException) {
            Thread.currentThread().interrupt(); // keep the flag for the caller
        }
        return new ResourceFailure(phase + " of " + describe(resource) + " failed: " + e, e);
    }

    private static String describe(Object resource) {
        String s = String.valueOf(resource);
        return s.length() > 200 ? s.substring(0, 200) + "..." : s;
    }

    /** Resources that took {@code beforeCheckpoint} well, and the failures of the others. */
    public record Notified<R>(List<R> ready, List<Exception> failures) {}

    /** One resource's callback failed; its exception is the cause. */
    public static final class ResourceFailure extends Exception {
        private static final long serialVersionUID = 1L;

        ResourceFailure(String message, Exception cause) {
            super(message, cause);
        }
    }

    /** Adapts plain functions, for tests and for callers with simple resources. */
    public static <R, O> ResourceChain<R, O> of(ThrowingConsumer<R> before, ThrowingBiConsumer<R, O> after) {
        return new ResourceChain<>(new Callbacks<>() {
            @Override
            public void beforeCheckpoint(R resource) throws Exception {
                before.accept(resource);
            }

            @Override
            public void afterRestore(R resource, O outcome) throws Exception {
                after.accept(resource, outcome);
            }
        });
    }

    @FunctionalInterface
    public interface ThrowingConsumer<T> {
        void accept(T t) throws Exception;
    }

    @FunctionalInterface
    public interface ThrowingBiConsumer<T, U> {
        void accept(T t, U u) throws Exception;
    }
}
