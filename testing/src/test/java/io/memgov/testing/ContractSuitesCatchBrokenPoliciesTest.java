package io.memgov.testing;

import org.junit.jupiter.api.Test;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.support.descriptor.MethodSource;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.core.LauncherFactory;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;
import static org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder.request;



/**
 * The contract suites can fail: each deliberately broken fixture ({@link BrokenFixtures}) is run through the JUnit
 * Platform launcher, and exactly the contract tests that state the promise it breaks fail; every other test of the
 * suite passes, so the failures point at the defect.
 */
final class ContractSuitesCatchBrokenPoliciesTest
{
    @Test
    void thePoolSuiteFailsAPoolWhoseRefusedTryStillRecords()
    {
        Map<String, TestExecutionResult.Status> results = run(BrokenFixtures.RecordsBeforeRefusingPoolContract.class);

        assertThat(failed(results)).containsExactlyInAnyOrder(
                "aRefusedTryReserveChangesNothing",
                "revocableBytesCountAgainstTheBudget",
                // its refused tries leave bytes nobody holds: the sums no longer match what the threads hold
                "concurrentRandomCallsLeaveEveryCounterExact");
        assertThat(results).hasSizeGreaterThan(20);
    }

    @Test
    void thePoolSuiteFailsAPoolThatHandsEachBlockedCallerAFutureOfItsOwn()
    {
        Map<String, TestExecutionResult.Status> results = run(BrokenFixtures.FuturePerCallerPoolContract.class);

        assertThat(failed(results)).containsExactlyInAnyOrder(
                "blockedCallersShareOneFuture",
                "aCallerThatBlocksAfterTheFutureCompletedGetsAPendingOne");
        assertThat(results).hasSizeGreaterThan(20);
    }

    @Test
    void theKillerSuiteFailsAKillerThatNamesAQueryThatIsNotRunning()
    {
        Map<String, TestExecutionResult.Status> results = run(BrokenFixtures.NamesEndedQueriesKillerContract.class);

        assertThat(failed(results)).containsExactlyInAnyOrder(
                "killsNothingWhenNoQueryIsRunning",
                "neverNamesAQueryOrTaskItWasNotGiven");
        assertThat(results).hasSizeGreaterThan(5);
    }

    @Test
    void theTrackerSuiteFailsATrackerThatDoesNotRollBackTheLevelsBelowARefusal()
    {
        Map<String, TestExecutionResult.Status> results = run(BrokenFixtures.NoRollbackTrackerContract.class);

        assertThat(failed(results)).containsExactlyInAnyOrder(
                "aRefusedAllocationChangesNothingAtAnyLevel",
                "aRefusedAllocationLeavesThePeaksAsTheyWere",
                "aLevelMayBeFilledUpToItsLimitExactly",
                "aLimitAppliesToWhatTheWholeSubtreeHolds",
                // the refusals at alice's limit leave bytes at her queries
                "concurrentCallsAreExactOnceEveryThreadFlushed");
        assertThat(results).hasSizeGreaterThan(10);
    }

    @Test
    void thePluginSuiteFailsAFactoryThatIgnoresUnknownKeys()
    {
        Map<String, TestExecutionResult.Status> results = run(BrokenFixtures.IgnoresUnknownKeysPluginContract.class);

        assertThat(failed(results)).containsExactly("everyFactoryRefusesAnUnknownKeyNamingTheFullKey");
        assertThat(results).hasSizeGreaterThan(4);
    }

    /**
     * Runs the class's tests; the result of each test method by name. A parameterized method, or a test factory's
     * dynamic tests, count once: failed if any case failed.
     */
    private static Map<String, TestExecutionResult.Status> run(Class<?> testClass)
    {
        LauncherDiscoveryRequest request = request()
                .selectors(selectClass(testClass))
                .configurationParameter(BrokenFixtures.RUN_BROKEN_FIXTURES, "true")
                .build();
        Map<String, TestExecutionResult.Status> results = new TreeMap<>();
        // dynamic tests have no source of their own: they are filed under their factory method
        Map<String, String> methods = new ConcurrentHashMap<>();
        Launcher launcher = LauncherFactory.create();
        launcher.execute(request, new TestExecutionListener()
        {
            @Override
            public void executionStarted(TestIdentifier test)
            {
                test.getSource()
                        .filter(MethodSource.class::isInstance)
                        .map(source -> ((MethodSource) source).getMethodName())
                        .or(() -> test.getParentId().map(methods::get))
                        .ifPresent(method -> methods.put(test.getUniqueId(), method));
            }

            @Override
            public void executionFinished(TestIdentifier test, TestExecutionResult result)
            {
                Optional.ofNullable(methods.get(test.getUniqueId()))
                        .ifPresent(method -> results.merge(method, result.getStatus(), (first, second) -> first == TestExecutionResult.Status.FAILED ? first : second));
            }
        });
        assertThat(results).as("tests run in %s", testClass.getSimpleName()).isNotEmpty();
        return results;
    }

    private static List<String> failed(Map<String, TestExecutionResult.Status> results)
    {
        return results.entrySet().stream()
                // ABORTED is a check that does not apply (a failed assumption), not a failure
                .filter(entry -> entry.getValue() == TestExecutionResult.Status.FAILED)
                .map(Map.Entry::getKey)
                .toList();
    }
}
