import java.lang.foreign.*;
import java.lang.invoke.*;
import static java.lang.foreign.ValueLayout.*;
public class CudaStateProbe {
  static final Linker L = Linker.nativeLinker();
  static SymbolLookup cu;
  static MethodHandle h(String n, FunctionDescriptor d) { return L.downcallHandle(cu.find(n).orElseThrow(() -> new RuntimeException(n)), d); }
  static String name(int rc) throws Throwable { Arena a = Arena.ofAuto(); MemorySegment p = a.allocate(ADDRESS); int r = (int) h("cuGetErrorName", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS)).invokeExact(rc, p); return r == 0 ? p.get(ADDRESS, 0).reinterpret(100).getString(0) : "?" + rc; }
  public static void main(String[] a) throws Throwable {
    System.out.println("maps has libcuda before load: " + java.nio.file.Files.readString(java.nio.file.Path.of("/proc/self/maps")).contains("libcuda"));
    cu = SymbolLookup.libraryLookup("libcuda.so.1", Arena.global());
    Arena ar = Arena.global();
    int pid = (int) ProcessHandle.current().pid();
    var P = FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS);
    MethodHandle state = h("cuCheckpointProcessGetState", P);
    MemorySegment st = ar.allocate(JAVA_INT);
    int rc = (int) state.invokeExact(pid, st); System.out.println("getState before cuInit: rc=" + rc + " " + name(rc) + " state=" + st.get(JAVA_INT, 0));
    rc = (int) h("cuInit", FunctionDescriptor.of(JAVA_INT, JAVA_INT)).invokeExact(0); System.out.println("cuInit rc=" + rc);
    st.set(JAVA_INT, 0, -1); rc = (int) state.invokeExact(pid, st); System.out.println("getState after cuInit, no ctx: rc=" + rc + " " + name(rc) + " state=" + st.get(JAVA_INT, 0));
    MemorySegment la = ar.allocate(64); la.set(JAVA_INT, 0, 1000);
    rc = (int) h("cuCheckpointProcessLock", P).invokeExact(pid, la); System.out.println("lock without ctx: rc=" + rc + " " + name(rc));
    if (rc == 0) { rc = (int) h("cuCheckpointProcessUnlock", P).invokeExact(pid, MemorySegment.NULL); System.out.println("unlock rc=" + rc + " " + name(rc)); }
    MemorySegment ctx = ar.allocate(ADDRESS);
    rc = (int) h("cuDevicePrimaryCtxRetain", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT)).invokeExact(ctx, 0); System.out.println("retain rc=" + rc);
    rc = (int) h("cuCtxSetCurrent", FunctionDescriptor.of(JAVA_INT, ADDRESS)).invokeExact(ctx.get(ADDRESS, 0));
    st.set(JAVA_INT, 0, -1); rc = (int) state.invokeExact(pid, st); System.out.println("getState with ctx: rc=" + rc + " " + name(rc) + " state=" + st.get(JAVA_INT, 0));
    MemorySegment v = ar.allocate(JAVA_INT); rc = (int) h("cuDriverGetVersion", FunctionDescriptor.of(JAVA_INT, ADDRESS)).invokeExact(v); System.out.println("driver " + v.get(JAVA_INT, 0));
    // managed memory: does checkpoint refuse it?
    MemorySegment dp = ar.allocate(JAVA_LONG);
    rc = (int) h("cuMemAllocManaged", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT)).invokeExact(dp, 1L << 20, 1); System.out.println("managed alloc rc=" + rc);
    rc = (int) h("cuCheckpointProcessLock", P).invokeExact(pid, la); System.out.println("lock with managed: rc=" + rc + " " + name(rc));
    rc = (int) h("cuCheckpointProcessCheckpoint", P).invokeExact(pid, MemorySegment.NULL); System.out.println("checkpoint with managed: rc=" + rc + " " + name(rc));
    st.set(JAVA_INT, 0, -1); rc = (int) state.invokeExact(pid, st); System.out.println("state now: " + st.get(JAVA_INT, 0));
    rc = (int) h("cuCheckpointProcessUnlock", P).invokeExact(pid, MemorySegment.NULL); System.out.println("unlock: rc=" + rc + " " + name(rc));
    st.set(JAVA_INT, 0, -1); rc = (int) state.invokeExact(pid, st); System.out.println("state final: " + st.get(JAVA_INT, 0));
  }
}
