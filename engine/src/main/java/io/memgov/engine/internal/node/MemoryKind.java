package io.memgov.engine.internal.node;

/**
 * The kinds of memory an operator holds: user memory must be held; system memory (Presto) is held by the
 * engine for the query and counts toward the total but not the user limit; revocable memory can be taken back by
 * asking the operator to spill; direct memory is held off-heap and reserved in the node's direct pool, against the
 * query's per-node direct limit only (a node without a direct pool counts it as user memory instead); direct revocable
 * memory is off-heap memory the operator can spill, revocable in the direct pool (revocable memory in the heap pool on
 * a node without one).
 */
public enum MemoryKind
{
    USER,
    SYSTEM,
    REVOCABLE,
    DIRECT,
    DIRECT_REVOCABLE,
}
