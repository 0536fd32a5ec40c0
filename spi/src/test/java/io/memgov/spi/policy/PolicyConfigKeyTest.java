package io.memgov.spi.policy;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

final class PolicyConfigKeyTest
{
    @Test
    void keepsWhatItIsGiven()
    {
        PolicyConfigKey key = new PolicyConfigKey("min-task-bytes", "1B", "tasks holding less than this do not count");

        assertThat(key.name()).isEqualTo("min-task-bytes");
        assertThat(key.defaultValue()).isEqualTo("1B");
        assertThat(key.description()).isEqualTo("tasks holding less than this do not count");
    }

    @Test
    void refusesANameThatIsNotKebabCase()
    {
        // the name is what a user writes after the prefix: 'minTaskBytes' or 'min_task_bytes' would never match a key
        for (String bad : List.of("minTaskBytes", "min_task_bytes", "-min", "min-", "", "min task", "min.task")) {
            assertThatThrownBy(() -> new PolicyConfigKey(bad, "1", "meaning"))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("name is not kebab-case (lower-case words joined by '-'): '" + bad + "'");
        }
    }

    @Test
    void refusesABlankDefaultOrDescription()
    {
        assertThatThrownBy(() -> new PolicyConfigKey("grace", " ", "meaning"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("defaultValue of 'grace' is blank: give the value, or a word such as 'unset'");
        assertThatThrownBy(() -> new PolicyConfigKey("grace", "60s", ""))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("description of 'grace' is blank");
        assertThatThrownBy(() -> new PolicyConfigKey(null, "60s", "meaning")).isInstanceOf(NullPointerException.class).hasMessage("name is null");
    }

    @Test
    void aFactoryThatDeclaresNothingHasNoKeys()
    {
        // the default keeps every factory written before the method existed compiling and working
        PolicyFactory<PolicyContext, Object> factory = new PolicyFactory<>()
        {
            @Override
            public String name()
            {
                return "old";
            }

            @Override
            public Object create(PolicyConfig config, PolicyContext context)
            {
                return new Object();
            }
        };

        assertThat(factory.configKeys()).isEmpty();
    }
}
