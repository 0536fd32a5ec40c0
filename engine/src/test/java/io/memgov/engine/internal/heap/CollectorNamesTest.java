package io.memgov.engine.internal.heap;

import io.memgov.engine.internal.heap.CollectorNames.Role;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.assertj.core.api.Assertions.assertThat;

final class CollectorNamesTest
{
    @ParameterizedTest(name = "{0} / {1} -> {2}, concurrent {3}")
    @CsvSource(delimiter = '|', textBlock = """
            # the names and actions HotSpot 17-21 reports (seen in child JVMs, see HeapObserverChildJvmTest)
            G1 Young Generation  | end of minor GC            | YOUNG | false
            G1 Old Generation    | end of major GC            | FULL  | false
            G1 Concurrent GC     | end of concurrent GC pause | PAUSE | false
            Copy                 | end of minor GC            | YOUNG | false
            MarkSweepCompact     | end of major GC            | FULL  | false
            PS Scavenge          | end of minor GC            | YOUNG | false
            PS MarkSweep         | end of major GC            | FULL  | false
            ZGC Cycles           | end of GC cycle            | FULL  | true
            ZGC Pauses           | end of GC pause            | PAUSE | false
            ZGC Major Cycles     | end of GC cycle            | FULL  | true
            ZGC Minor Cycles     | end of GC cycle            | YOUNG | true
            ZGC Minor Pauses     | end of GC pause            | PAUSE | false
            # Shenandoah names the pause in the action: only the collector's name says it is one
            Shenandoah Cycles    | end of GC cycle            | FULL  | true
            Shenandoah Pauses    | Init Mark                  | PAUSE | false
            # collectors not in the table fall back on the action
            Future Old           | end of major GC            | FULL  | false
            Future Young         | end of minor GC            | YOUNG | false
            Future Cycles        | end of GC cycle            | FULL  | true
            Future Young Cycles  | end of GC cycle            | YOUNG | true
            Future Pauses        | end of GC pause            | PAUSE | false
            # an unknown action is never taken for a full collection
            Future               | something new              | YOUNG | false
            """)
    void classifiesCollectorsByNameThenByAction(String name, String action, CollectionKind kind, boolean concurrent)
    {
        assertThat(CollectorNames.roleOf(name, action)).isEqualTo(new Role(kind, concurrent));
    }
}
