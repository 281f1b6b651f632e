/**
 * Security helpers outside the Raft core: development certificates ({@code raftkv certs}).
 */
package io.raftkv.security;
