/**
 * A simulated disk for the simulation: an in-memory {@link java.nio.file.FileSystem} whose files
 * and folders remember what has been forced, and which a simulated power loss takes back to it.
 *
 * <p>The model ({@link SimFileSystem} has the details): a file's data is durable once a
 * {@code FileChannel.force} on it returns; a folder's entries (create, rename, delete) are durable
 * once a {@code force} on the folder itself returns - the stricter POSIX reading, stricter than
 * ext4's ordered journal. At a crash each file keeps its forced content plus a random prefix of the
 * writes made since (possibly cutting the last one in the middle: a torn tail); each folder keeps
 * its forced entries. Everything random comes from the caller's {@link java.util.Random}, so a
 * seed replays exactly. Single-threaded, like the simulation.
 */
package io.raftkv.sim.fs;
