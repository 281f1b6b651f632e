package io.raftkv.mutation;

import org.objectweb.asm.ClassReader;
import org.objectweb.asm.ClassVisitor;
import org.objectweb.asm.ClassWriter;
import org.objectweb.asm.MethodVisitor;
import org.objectweb.asm.Opcodes;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/**
 * A class loader in which raftkv's own classes (production and test, {@code io.raftkv.*}) are
 * loaded afresh, child-first, and one boolean method of one class always returns a constant: a
 * mutant, as mutation testing makes them. Planted bugs are built this way, so production code
 * carries no test hooks; code run through {@link #load} sees only the mutant. Everything else
 * (the JDK, JUnit, AssertJ, ...) comes from the parent.
 */
public final class MutantLoader extends ClassLoader {
    private final String className;
    private final String methodName;
    private final boolean constant;
    private boolean mutated;

    /** {@code className}'s boolean method {@code methodName} (every overload) returns {@code constant}. */
    public MutantLoader(String className, String methodName, boolean constant) {
        super("mutant:" + className + "." + methodName, MutantLoader.class.getClassLoader());
        this.className = className;
        this.methodName = methodName;
        this.constant = constant;
    }

    /** Loads {@code name} as the mutant world sees it. */
    public Class<?> load(String name) throws ClassNotFoundException {
        return loadClass(name, true);
    }

    @Override
    protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
        if (!name.startsWith("io.raftkv.") || name.startsWith("io.raftkv.mutation.")) {
            return super.loadClass(name, resolve);
        }
        synchronized (getClassLoadingLock(name)) {
            Class<?> c = findLoadedClass(name);
            if (c == null) {
                byte[] bytes = read(name);
                if (name.equals(className)) bytes = mutate(bytes);
                c = defineClass(name, bytes, 0, bytes.length);
            }
            if (resolve) resolveClass(c);
            return c;
        }
    }

    private byte[] read(String name) throws ClassNotFoundException {
        try (InputStream in = getParent().getResourceAsStream(name.replace('.', '/') + ".class")) {
            if (in == null) throw new ClassNotFoundException(name);
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private byte[] mutate(byte[] original) {
        ClassReader reader = new ClassReader(original);
        ClassWriter writer = new ClassWriter(reader, ClassWriter.COMPUTE_MAXS);
        reader.accept(new ClassVisitor(Opcodes.ASM9, writer) {
            @Override
            public MethodVisitor visitMethod(int access, String name, String descriptor, String signature,
                                             String[] exceptions) {
                MethodVisitor target = super.visitMethod(access, name, descriptor, signature, exceptions);
                if (!name.equals(methodName) || !descriptor.endsWith(")Z")) return target;
                mutated = true;
                // The new body; the original's instructions go nowhere.
                target.visitCode();
                target.visitInsn(constant ? Opcodes.ICONST_1 : Opcodes.ICONST_0);
                target.visitInsn(Opcodes.IRETURN);
                target.visitMaxs(0, 0);
                target.visitEnd();
                return null;
            }
        }, 0);
        if (!mutated) throw new IllegalArgumentException("no boolean method " + methodName + " in " + className);
        return writer.toByteArray();
    }
}
