package dev.cryo.internal.cuda;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;

/**
 * The cuda.h argument structs Cryo fills, declared field by field as the header does (x86-64 and
 * aarch64 Linux), so that offsets and padding come from the layout, not from counting. Reserved
 * fields must be zero: allocate them zeroed (Arena.allocate does).
 */
final class CudaStructs {
    private CudaStructs() {}

    /** {@code CUcheckpointLockArgs}: {@code unsigned int timeoutMs; unsigned int reserved0; cuuint64_t reserved1[7];}, 64 bytes. */
    static final StructLayout LOCK_ARGS = MemoryLayout.structLayout(
            JAVA_INT.withName("timeoutMs"),
            JAVA_INT.withName("reserved0"),
            MemoryLayout.sequenceLayout(7, JAVA_LONG).withName("reserved1")).withName("CUcheckpointLockArgs");
    static final VarHandle LOCK_TIMEOUT_MS = field(LOCK_ARGS, "timeoutMs");

    /** {@code CUuuid}: {@code char bytes[16];}. */
    static final MemoryLayout UUID = MemoryLayout.sequenceLayout(16, JAVA_BYTE).withName("CUuuid");

    /** {@code CUcheckpointGpuPair}: {@code CUuuid oldUuid; CUuuid newUuid;}, 32 bytes. */
    static final StructLayout GPU_PAIR = MemoryLayout.structLayout(
            UUID.withName("oldUuid"),
            UUID.withName("newUuid")).withName("CUcheckpointGpuPair");

    /**
     * {@code CUcheckpointRestoreArgs}: {@code CUcheckpointGpuPair *gpuPairs; unsigned int gpuPairsCount;
     * char reserved[52 - sizeof(CUcheckpointGpuPair *)]; cuuint64_t reserved1;}, 64 bytes.
     */
    static final StructLayout RESTORE_ARGS = MemoryLayout.structLayout(
            ADDRESS.withName("gpuPairs"),
            JAVA_INT.withName("gpuPairsCount"),
            MemoryLayout.sequenceLayout(52 - ADDRESS.byteSize(), JAVA_BYTE).withName("reserved"),
            JAVA_LONG.withName("reserved1")).withName("CUcheckpointRestoreArgs");
    static final VarHandle RESTORE_GPU_PAIRS = field(RESTORE_ARGS, "gpuPairs");
    static final VarHandle RESTORE_GPU_PAIRS_COUNT = field(RESTORE_ARGS, "gpuPairsCount");

    /** {@code CUmemLocation}: {@code CUmemLocationType type; int id;}. */
    static final StructLayout MEM_LOCATION = MemoryLayout.structLayout(
            JAVA_INT.withName("type"),
            JAVA_INT.withName("id")).withName("CUmemLocation");

    /**
     * {@code CUmemAllocationProp}: {@code CUmemAllocationType type; CUmemAllocationHandleType
     * requestedHandleTypes; CUmemLocation location; void *win32HandleMetaData; struct { unsigned char
     * compressionType; unsigned char gpuDirectRDMACapable; unsigned short usage; unsigned char
     * reserved[4]; } allocFlags;}, 32 bytes.
     */
    static final StructLayout ALLOCATION_PROP = MemoryLayout.structLayout(
            JAVA_INT.withName("type"),
            JAVA_INT.withName("requestedHandleTypes"),
            MEM_LOCATION.withName("location"),
            ADDRESS.withName("win32HandleMetaData"),
            MemoryLayout.structLayout(
                    JAVA_BYTE.withName("compressionType"),
                    JAVA_BYTE.withName("gpuDirectRDMACapable"),
                    JAVA_SHORT.withName("usage"),
                    MemoryLayout.sequenceLayout(4, JAVA_BYTE).withName("reserved")).withName("allocFlags"))
            .withName("CUmemAllocationProp");
    static final VarHandle ALLOCATION_TYPE = field(ALLOCATION_PROP, "type");
    static final VarHandle ALLOCATION_LOCATION_TYPE = field(ALLOCATION_PROP, "location", "type");
    static final VarHandle ALLOCATION_LOCATION_ID = field(ALLOCATION_PROP, "location", "id");

    /** {@code CUmemAccessDesc}: {@code CUmemLocation location; CUmemAccess_flags flags;}, 12 bytes. */
    static final StructLayout ACCESS_DESC = MemoryLayout.structLayout(
            MEM_LOCATION.withName("location"),
            JAVA_INT.withName("flags")).withName("CUmemAccessDesc");
    static final VarHandle ACCESS_LOCATION_TYPE = field(ACCESS_DESC, "location", "type");
    static final VarHandle ACCESS_LOCATION_ID = field(ACCESS_DESC, "location", "id");
    static final VarHandle ACCESS_FLAGS = field(ACCESS_DESC, "flags");

    private static VarHandle field(StructLayout struct, String... path) {
        MemoryLayout.PathElement[] elements = new MemoryLayout.PathElement[path.length];
        for (int i = 0; i < path.length; i++) {
            elements[i] = groupElement(path[i]);
        }
        return struct.varHandle(elements);
    }
}
