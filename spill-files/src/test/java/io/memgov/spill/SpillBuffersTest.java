package io.memgov.spill;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

final class SpillBuffersTest
{
    @Test
    void handsOutDirectBuffersWithinTheBudgetAndSmallHeapOnesPastIt()
    {
        // two pools share a budget of three 64 KB buffers
        AtomicLong directBytes = new AtomicLong();
        SpillBuffers writes = new SpillBuffers(64 * 1024, directBytes, 3 * 64 * 1024);
        SpillBuffers reads = new SpillBuffers(64 * 1024, directBytes, 3 * 64 * 1024);

        ByteBuffer first = writes.take();
        ByteBuffer second = writes.take();
        ByteBuffer third = reads.take();
        ByteBuffer fourth = reads.take();

        assertThat(first.isDirect() && second.isDirect() && third.isDirect()).isTrue();
        assertThat(first.capacity()).isEqualTo(64 * 1024);
        assertThat(fourth.isDirect()).isFalse();
        assertThat(fourth.capacity()).isEqualTo(SpillBuffers.HEAP_BUFFER_BYTES);
        assertThat(directBytes).hasValue(3 * 64 * 1024);

        // a direct buffer given back is handed out again, cleared; a heap one is not kept
        first.put((byte) 1);
        writes.give(first);
        reads.give(fourth);
        assertThat(writes.idleBuffers()).isOne();
        assertThat(reads.idleBuffers()).isZero();
        ByteBuffer again = writes.take();
        assertThat(again).isSameAs(first);
        assertThat(again.position()).isZero();
        assertThat(again.remaining()).isEqualTo(64 * 1024);
        assertThat(reads.take().isDirect()).isFalse();
        assertThat(directBytes).hasValue(3 * 64 * 1024);
    }
}
