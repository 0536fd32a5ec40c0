package io.memgov;

import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.library.dependencies.SliceAssignment;
import com.tngtech.archunit.library.dependencies.SliceIdentifier;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

/**
 * DESIGN.md's dependency rules, checked over every module's main classes (they are all on this module's class path).
 */
@AnalyzeClasses(packages = "io.memgov", importOptions = ImportOption.DoNotIncludeTests.class)
final class ArchitectureTest
{
    private static final SliceAssignment SPI_PACKAGES = new SliceAssignment()
    {
        @Override
        public SliceIdentifier getIdentifierOf(JavaClass javaClass)
        {
            String name = javaClass.getPackageName();
            if (name.equals("io.memgov.spi")) {
                return SliceIdentifier.of("spi root");
            }
            if (name.startsWith("io.memgov.spi.")) {
                return SliceIdentifier.of(name.substring("io.memgov.spi.".length()).split("\\.")[0]);
            }
            return SliceIdentifier.ignore();
        }

        @Override
        public String getDescription()
        {
            return "the SPI root and each SPI package";
        }
    };

    // every SPI dependency becomes every plugin's dependency: the SPI needs the JDK only
    @ArchTest
    static final ArchRule spiDependsOnTheJdkOnly = noClasses().that().resideInAPackage("io.memgov.spi..")
            .should().dependOnClassesThat().resideOutsideOfPackages("io.memgov.spi..", "java..");

    // plugins reach engine services through their context, never by linking to the engine
    @ArchTest
    static final ArchRule pluginsNeverDependOnTheEngine = noClasses().that().resideInAPackage("io.memgov.plugin..")
            .should().dependOnClassesThat().resideInAPackage("io.memgov.engine..");

    // hosts, plugins and the other modules see the engine's host API (io.memgov.engine) only
    @ArchTest
    static final ArchRule nothingOutsideTheEngineUsesItsInternals = noClasses().that().resideOutsideOfPackage("io.memgov.engine..")
            .should().dependOnClassesThat().resideInAPackage("io.memgov.engine.internal..");

    // the engine knows policies only through the SPI and the registry
    @ArchTest
    static final ArchRule engineNeverDependsOnAPlugin = noClasses().that().resideInAPackage("io.memgov.engine..")
            .should().dependOnClassesThat().resideInAPackage("io.memgov.plugin..");

    // plugins do not depend on each other either: each ships as its own jar in its own class loader
    @ArchTest
    static final ArchRule pluginsAreIndependent = slices().matching("io.memgov.plugin.(*)..").should().notDependOnEachOther();

    @ArchTest
    static final ArchRule noCyclesBetweenModules = slices().matching("io.memgov.(*)..").should().beFreeOfCycles();

    @ArchTest
    static final ArchRule noCyclesBetweenEnginePackages = slices().matching("io.memgov.engine.(*)..").should().beFreeOfCycles();

    // the SPI root (MemoryPlugin, PolicyFamily) is a slice of its own: 'io.memgov.spi.(*)..' alone would not see a cycle
    // between the root and a family package
    @ArchTest
    static final ArchRule noCyclesBetweenSpiPackages = slices().assignedFrom(SPI_PACKAGES).should().beFreeOfCycles();
}
