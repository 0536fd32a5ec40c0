package io.memgov.arrow;

import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

/**
 * The adapter is a host of the engine: it sees the host API (io.memgov.engine) and the SPI's values, never the
 * engine's internals, and of Arrow only the allocator API (arrow-memory-core), never an allocation manager.
 */
@AnalyzeClasses(packages = "io.memgov.arrow", importOptions = ImportOption.DoNotIncludeTests.class)
final class AdapterArchitectureTest
{
    @ArchTest
    static final ArchRule usesTheHostApiOnly = noClasses().that().resideInAPackage("io.memgov.arrow..")
            .should().dependOnClassesThat().resideInAPackage("io.memgov.engine.internal..");

    @ArchTest
    static final ArchRule leavesTheAllocationManagerToTheHost = noClasses().that().resideInAPackage("io.memgov.arrow..")
            .should().dependOnClassesThat().resideInAnyPackage("org.apache.arrow.memory.unsafe..", "org.apache.arrow.memory.netty..", "io.netty..");
}
