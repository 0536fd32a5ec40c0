package io.memgov.engine.internal.plugin;

import io.memgov.spi.MemoryPlugin;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;

/**
 * Builds plugin jars from compiled test classes, so that discovery runs against real jars in real class loaders.
 */
final class TestJars
{
    static final String SERVICES = "META-INF/services/" + MemoryPlugin.class.getName();

    private TestJars() {}

    /**
     * Writes a jar holding the classes (with their nested classes) and, unless {@code services} is null, a services
     * file listing the given provider.
     */
    static Path write(Path jar, Class<?> services, Class<?>... classes)
            throws IOException
    {
        Set<String> classFiles = new TreeSet<>();
        for (Class<?> type : classes) {
            for (Class<?> member : type.getNestMembers()) {
                classFiles.add(member.getName().replace('.', '/') + ".class");
            }
        }
        try (OutputStream file = Files.newOutputStream(jar);
                JarOutputStream out = new JarOutputStream(file)) {
            for (String classFile : classFiles) {
                try (InputStream classBytes = TestJars.class.getClassLoader().getResourceAsStream(classFile)) {
                    if (classBytes == null) {
                        throw new IOException("no class file " + classFile + " on the test class path");
                    }
                    out.putNextEntry(new JarEntry(classFile));
                    classBytes.transferTo(out);
                    out.closeEntry();
                }
            }
            if (services != null) {
                out.putNextEntry(new JarEntry(SERVICES));
                out.write((services.getName() + "\n").getBytes(StandardCharsets.UTF_8));
                out.closeEntry();
            }
        }
        return jar;
    }
}
