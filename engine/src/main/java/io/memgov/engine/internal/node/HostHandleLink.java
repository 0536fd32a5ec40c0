package io.memgov.engine.internal.node;

import java.lang.ref.Reference;

import static java.util.Objects.requireNonNull;

/**
 * An accounting state's link to the handle its host holds: a reference the handle made to itself, usually weak, kept
 * here untyped. The state only asks whether the handle is gone (its cleaner action runs, or ran); the handles, which
 * know their own type, read it back to give new children the host's handle as their parent. So a state never names
 * the handle class, and never keeps the handle reachable.
 */
final class HostHandleLink
{
    private volatile Reference<?> reference;

    /**
     * @throws IllegalStateException if a handle was attached already, naming {@code owner}
     */
    synchronized void attach(Reference<?> handle, Object owner)
    {
        requireNonNull(handle, "handle is null");
        if (reference != null) {
            throw new IllegalStateException(owner + " already has a host handle");
        }
        reference = handle;
    }

    /** The host's handle, or null before one was attached and once it was collected. */
    Object get()
    {
        Reference<?> current = reference;
        return current == null ? null : current.get();
    }

    /** True once the host's handle is unreachable: its cleaner action will run, or ran. */
    boolean isCollected()
    {
        Reference<?> current = reference;
        return current != null && current.refersTo(null);
    }
}
