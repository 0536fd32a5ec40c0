package io.memgov.spill;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;

import static io.memgov.spill.SpillBuffers.HEAP_BUFFER_BYTES;
import static io.memgov.spill.SpillBuffers.LARGE_WRITE_BUFFER_BYTES;
import static io.memgov.spill.SpillBuffers.READ_BUFFER_BYTES;
import static io.memgov.spill.SpillBuffers.WRITE_BUFFER_BYTES;
import static org.assertj.core.api.Assertions.assertThat;

final class SpillBuffersTest
{
    @Test
    void handsOutDirectBuffersWithinTheBudgetAndSmallHeapOnesPastIt()
    {
        // room for one write, one large write and one read buffer
        SpillBuffers buffers = new SpillBuffers(WRITE_BUFFER_BYTES + LARGE_WRITE_BUFFER_BYTES + READ_BUFFER_BYTES);

        ByteBuffer write = buffers.takeWrite();
        ByteBuffer large = buffers.takeLargeWrite();
        ByteBuffer read = buffers.takeRead();

        assertThat(write.isDirect() && large.isDirect() && read.isDirect()).isTrue();
        assertThat(write.capacity()).isEqualTo(WRITE_BUFFER_BYTES);
        assertThat(large.capacity()).isEqualTo(LARGE_WRITE_BUFFER_BYTES);
        assertThat(read.capacity()).isEqualTo(READ_BUFFER_BYTES);
        // the budget is spent
        ByteBuffer heapWrite = buffers.takeWrite();
        ByteBuffer heapRead = buffers.takeRead();
        assertThat(heapWrite.isDirect() || heapRead.isDirect()).isFalse();
        assertThat(heapWrite.capacity()).isEqualTo(HEAP_BUFFER_BYTES);
        assertThat(heapRead.capacity()).isEqualTo(HEAP_BUFFER_BYTES);
        assertThat(buffers.takeLargeWrite()).isNull();
        assertThat(buffers.directBytes()).isEqualTo(WRITE_BUFFER_BYTES + LARGE_WRITE_BUFFER_BYTES + READ_BUFFER_BYTES);

        // a direct buffer given back is handed out again, cleared, to a taker of its size; a heap one is not kept
        write.put((byte) 1);
        buffers.give(write);
        buffers.give(heapRead);
        assertThat(buffers.idleBuffers(WRITE_BUFFER_BYTES)).isOne();
        assertThat(buffers.idleBuffers(READ_BUFFER_BYTES)).isZero();
        assertThat(buffers.takeRead().isDirect()).isFalse();
        ByteBuffer again = buffers.takeWrite();
        assertThat(again).isSameAs(write);
        assertThat(again.position()).isZero();
        assertThat(again.remaining()).isEqualTo(WRITE_BUFFER_BYTES);
        assertThat(buffers.directBytes()).isEqualTo(WRITE_BUFFER_BYTES + LARGE_WRITE_BUFFER_BYTES + READ_BUFFER_BYTES);
    }
}
