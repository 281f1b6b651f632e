/**
 * The Java client of raftkv: talks to any node, learns the leader from responses, moves on to
 * the next node when one is down, and retries only what is safe to retry.
 */
package io.raftkv.client;
