package io.memgov.engine.internal.node;

/**
 * The three kinds of memory an operator holds: user memory must be held; system memory (Presto) is held by the
 * engine for the query and counts toward the total but not the user limit; revocable memory can be taken back by
 * asking the operator to spill.
 */
public enum MemoryKind
{
    USER,
    SYSTEM,
    REVOCABLE,
}
