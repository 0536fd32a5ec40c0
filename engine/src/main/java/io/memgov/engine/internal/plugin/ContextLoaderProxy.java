package io.memgov.engine.internal.plugin;

import io.memgov.spi.MemoryPlugin;
import io.memgov.spi.PolicyFamily;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Proxy;
import java.lang.reflect.Type;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import static java.util.Objects.requireNonNull;

/**
 * Runs every call into a drop-in plugin's policy with the plugin's class loader as the thread context loader. The
 * engine calls policies from operator threads, the cluster loop and the cleaner, whose context loader is the host's;
 * a plugin library that looks classes up through the context loader (ServiceLoader, Jackson, JAXB) would otherwise
 * find the host's classes, or none.
 *
 * <p>One mechanism for every family: a {@link Proxy} implementing every SPI interface the policy implements (so a
 * narrow role such as {@code ResizableMemoryPool} survives the wrapping), default methods included. Policies a call
 * returns (a tracker's child, an {@code Optional} parent) are wrapped the same way.
 */
final class ContextLoaderProxy
        implements InvocationHandler
{
    private static final ClassLoader SPI_LOADER = MemoryPlugin.class.getClassLoader();
    private static final String SPI_PACKAGE = MemoryPlugin.class.getPackageName() + ".";

    private final Object target;
    private final ClassLoader loader;
    private final Map<Method, Boolean> inheritedDefaults = new ConcurrentHashMap<>();

    private ContextLoaderProxy(Object target, ClassLoader loader)
    {
        this.target = target;
        this.loader = loader;
    }

    /** The wrapper a family uses to wrap its products for {@code loader}. */
    static PolicyFamily.RoleWrapper wrapperFor(ClassLoader loader)
    {
        requireNonNull(loader, "loader is null");
        return new PolicyFamily.RoleWrapper()
        {
            @Override
            public <T> T wrap(Class<T> role, T target)
            {
                return ContextLoaderProxy.wrap(role, target, loader);
            }
        };
    }

    static <T> T wrap(Class<T> role, T target, ClassLoader loader)
    {
        requireNonNull(role, "role is null");
        requireNonNull(target, "target is null");
        if (!role.isInterface()) {
            throw new IllegalArgumentException(role.getName() + " is not an interface");
        }
        if (Proxy.isProxyClass(target.getClass()) && Proxy.getInvocationHandler(target) instanceof ContextLoaderProxy) {
            return target;
        }
        Set<Class<?>> interfaces = new LinkedHashSet<>();
        interfaces.add(role);
        spiInterfaces(target.getClass(), interfaces);
        return role.cast(Proxy.newProxyInstance(SPI_LOADER, interfaces.toArray(Class<?>[]::new), new ContextLoaderProxy(target, loader)));
    }

    private static void spiInterfaces(Class<?> type, Set<Class<?>> interfaces)
    {
        for (Class<?> current = type; current != null; current = current.getSuperclass()) {
            for (Class<?> candidate : current.getInterfaces()) {
                if (candidate.getName().startsWith(SPI_PACKAGE) && candidate.getClassLoader() == SPI_LOADER) {
                    interfaces.add(candidate);
                }
                spiInterfaces(candidate, interfaces);
            }
        }
    }

    @Override
    public Object invoke(Object proxy, Method method, Object[] args)
            throws Throwable
    {
        if (method.getDeclaringClass() == Object.class) {
            return switch (method.getName()) {
                // a proxy equals only itself or its target, so that identity-based bookkeeping still works
                case "equals" -> proxy == args[0] || target.equals(args[0]);
                case "hashCode" -> target.hashCode();
                default -> target.toString();
            };
        }
        Object result;
        try (ThreadContextClassLoader ignored = new ThreadContextClassLoader(loader)) {
            // a default the target inherits runs on this proxy, so that the calls it makes on itself, and on what it
            // hands out bound to itself (a pool's default slot), are decorated too
            result = inheritsDefault(method) ? InvocationHandler.invokeDefault(proxy, method, args) : method.invoke(target, args);
        }
        catch (InvocationTargetException e) {
            throw e.getCause();
        }
        return wrapResult(method, result);
    }

    private boolean inheritsDefault(Method method)
    {
        if (!method.isDefault()) {
            return false;
        }
        return inheritedDefaults.computeIfAbsent(method, ignored -> {
            try {
                // the method the target's class runs: this very default unless a class or an interface overrides it
                return target.getClass().getMethod(method.getName(), method.getParameterTypes()).equals(method);
            }
            catch (NoSuchMethodException e) {
                return false;
            }
        });
    }

    private Object wrapResult(Method method, Object result)
    {
        if (result == null) {
            return null;
        }
        Class<?> returnType = method.getReturnType();
        if (isSpiRole(returnType)) {
            return wrapRole(returnType, result);
        }
        if (result instanceof Optional<?> optional && optional.isPresent()) {
            Type generic = method.getGenericReturnType();
            if (generic instanceof ParameterizedType parameterized
                    && parameterized.getActualTypeArguments()[0] instanceof Class<?> element
                    && isSpiRole(element)) {
                return Optional.of(wrapRole(element, optional.get()));
            }
        }
        return result;
    }

    private static boolean isSpiRole(Class<?> type)
    {
        return type.isInterface() && type.getName().startsWith(SPI_PACKAGE) && type.getClassLoader() == SPI_LOADER;
    }

    private Object wrapRole(Class<?> role, Object value)
    {
        // the engine's own objects handed back (a parent the engine created) need no wrapping
        if (value.getClass().getClassLoader() != loader) {
            return value;
        }
        return wrapUnchecked(role, value);
    }

    private <T> T wrapUnchecked(Class<T> role, Object value)
    {
        return wrap(role, role.cast(value), loader);
    }
}
