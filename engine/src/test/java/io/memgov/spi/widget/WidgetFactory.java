package io.memgov.spi.widget;

import io.memgov.spi.policy.PolicyContext;
import io.memgov.spi.policy.PolicyFactory;

public interface WidgetFactory
        extends PolicyFactory<PolicyContext, Widget>
{
}
