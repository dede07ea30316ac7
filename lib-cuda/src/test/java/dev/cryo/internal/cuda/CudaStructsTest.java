package dev.cryo.internal.cuda;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.StructLayout;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The layouts against cuda.h (CUDA 12.8/13.0, 64-bit Linux): sizes and offsets as the C compiler lays them out. */
class CudaStructsTest {
    private static long offset(StructLayout struct, String... path) {
        java.lang.foreign.MemoryLayout.PathElement[] elements = new java.lang.foreign.MemoryLayout.PathElement[path.length];
        for (int i = 0; i < path.length; i++) {
            elements[i] = groupElement(path[i]);
        }
        return struct.byteOffset(elements);
    }

    @Test
    @DisplayName("CUcheckpointLockArgs: 64 bytes, timeoutMs at 0, reserved1 at 8")
    void lockArgs() {
        assertEquals(64, CudaStructs.LOCK_ARGS.byteSize());
        assertEquals(0, offset(CudaStructs.LOCK_ARGS, "timeoutMs"));
        assertEquals(4, offset(CudaStructs.LOCK_ARGS, "reserved0"));
        assertEquals(8, offset(CudaStructs.LOCK_ARGS, "reserved1"));
    }

    @Test
    @DisplayName("CUcheckpointRestoreArgs: 64 bytes, gpuPairs at 0, gpuPairsCount at 8, reserved1 at 56; a pair is 32 bytes")
    void restoreArgs() {
        assertEquals(64, CudaStructs.RESTORE_ARGS.byteSize());
        assertEquals(8, CudaStructs.RESTORE_ARGS.byteAlignment());
        assertEquals(0, offset(CudaStructs.RESTORE_ARGS, "gpuPairs"));
        assertEquals(8, offset(CudaStructs.RESTORE_ARGS, "gpuPairsCount"));
        assertEquals(12, offset(CudaStructs.RESTORE_ARGS, "reserved"));
        assertEquals(56, offset(CudaStructs.RESTORE_ARGS, "reserved1"));
        assertEquals(32, CudaStructs.GPU_PAIR.byteSize());
        assertEquals(16, offset(CudaStructs.GPU_PAIR, "newUuid"));
    }

    @Test
    @DisplayName("CUmemAllocationProp: 32 bytes, location {type, id} at 8, win32HandleMetaData at 16, allocFlags at 24")
    void allocationProp() {
        assertEquals(32, CudaStructs.ALLOCATION_PROP.byteSize());
        assertEquals(4, offset(CudaStructs.ALLOCATION_PROP, "requestedHandleTypes"));
        assertEquals(8, offset(CudaStructs.ALLOCATION_PROP, "location", "type"));
        assertEquals(12, offset(CudaStructs.ALLOCATION_PROP, "location", "id"));
        assertEquals(16, offset(CudaStructs.ALLOCATION_PROP, "win32HandleMetaData"));
        assertEquals(24, offset(CudaStructs.ALLOCATION_PROP, "allocFlags"));
        assertEquals(26, offset(CudaStructs.ALLOCATION_PROP, "allocFlags", "usage"));
    }

    @Test
    @DisplayName("CUmemAccessDesc: 12 bytes, location at 0, flags at 8")
    void accessDesc() {
        assertEquals(12, CudaStructs.ACCESS_DESC.byteSize());
        assertEquals(4, offset(CudaStructs.ACCESS_DESC, "location", "id"));
        assertEquals(8, offset(CudaStructs.ACCESS_DESC, "flags"));
    }
}
