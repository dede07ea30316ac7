package dev.cryo.internal.cuda;

/** At restore, the state of the GPU {@code from} (at checkpoint) goes to the GPU {@code to} (now). */
public record GpuPair(GpuDevice from, GpuDevice to) {}
