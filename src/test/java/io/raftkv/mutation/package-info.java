/**
 * Mutants of raftkv's own classes for the planted-bug tests: {@link io.raftkv.mutation.MutantLoader}
 * loads {@code io.raftkv.*} afresh with one boolean method returning a constant, so a bug can be
 * planted in the core or the runtime without any hook in production code. A test runs its
 * simulation inside that loader and asserts that the checkers catch the mutant.
 */
package io.raftkv.mutation;
