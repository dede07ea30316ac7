package dev.cryo.internal;

import dev.cryo.internal.cuda.CudaMemory;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * {@link DeviceCopies} on a GPU: copies queued round-robin on a few non-blocking streams of the
 * GPU's primary context, one event per ring slot. Created and used on pipeline threads only, so
 * that the app's threads keep whatever context they had current.
 */
public final class CudaCopies implements DeviceCopies {
    private final CudaMemory cuda;
    private final MemorySegment context;
    private final List<MemorySegment> streams = new ArrayList<>();
    private final List<MemorySegment> events = new ArrayList<>();

    /** Streams and events on {@code gpu}; the calling thread gets its primary context current. */
    public CudaCopies(CudaMemory cuda, int gpu, int streamCount, int slots) {
        this.cuda = cuda;
        this.context = cuda.primaryContext(gpu);
        cuda.makeCurrent(context);
        try {
            for (int i = 0; i < streamCount; i++) {
                streams.add(cuda.newStream());
            }
            for (int i = 0; i < slots; i++) {
                events.add(cuda.newEvent());
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    @Override
    public void attach() {
        cuda.makeCurrent(context);
    }

    @Override
    public void pin(MemorySegment host, boolean readOnly) {
        cuda.register(host, readOnly ? CudaMemory.HOST_REGISTER_READ_ONLY : 0);
    }

    @Override
    public void unpin(MemorySegment host) {
        cuda.unregister(host);
    }

    private MemorySegment stream(int slot) {
        return streams.get(slot % streams.size());
    }

    @Override
    public void toHost(long device, MemorySegment host, int slot) {
        cuda.copyToHost(host, device, stream(slot));
        cuda.record(events.get(slot), stream(slot));
    }

    @Override
    public void toDevice(MemorySegment host, long device, int slot) {
        cuda.copyToDevice(device, host, stream(slot));
        cuda.record(events.get(slot), stream(slot));
    }

    @Override
    public void await(int slot) {
        cuda.await(events.get(slot));
    }

    @Override
    public boolean reached(int slot) {
        return cuda.reached(events.get(slot));
    }

    @Override
    public void awaitAll() {
        for (MemorySegment s : streams) {
            cuda.synchronize(s);
        }
    }

    @Override
    public void close() {
        for (MemorySegment e : events) {
            try {
                cuda.destroyEvent(e);
            } catch (RuntimeException ignored) {
                // freeing: nothing more to do
            }
        }
        for (MemorySegment s : streams) {
            try {
                cuda.synchronize(s);
                cuda.destroyStream(s);
            } catch (RuntimeException ignored) {
                // freeing: nothing more to do
            }
        }
        events.clear();
        streams.clear();
    }
}
