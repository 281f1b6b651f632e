package io.raftkv.transport;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoEventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.ServerSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;

/**
 * Which Netty transport the event loops use: Netty's native epoll transport on Linux when its
 * native library loads, else the JDK's NIO selector (other systems, or {@code -Draftkv.nio=true}).
 * The native transport makes fewer system calls and allocations per read, write and cross-thread
 * wake-up than the JDK selector, which matters on a node whose loops spend most of their time in
 * them (issue 14's profile). Channels must match their loop's transport: code that is handed a
 * group asks {@link #socketChannel} / {@link #serverChannel} for the class to use with it.
 */
public final class NettyIo {
    /** Set to true to use NIO even where epoll is available. */
    public static final String NIO_PROPERTY = "raftkv.nio";

    private static final boolean EPOLL = !Boolean.getBoolean(NIO_PROPERTY) && Epoll.isAvailable();

    private NettyIo() {}

    /** The handler factory for new event loops: epoll if available, else NIO. */
    public static IoHandlerFactory ioHandlerFactory() {
        return EPOLL ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
    }

    /** "epoll" or "nio": the transport of {@code group}'s loops (for logs). */
    public static String name(EventLoopGroup group) {
        return isEpoll(group) ? "epoll" : "nio";
    }

    /** Whether {@code group}'s loops are native epoll loops. */
    public static boolean isEpoll(EventLoopGroup group) {
        return group instanceof IoEventLoopGroup g && g.isIoType(EpollIoHandler.class);
    }

    /** The client socket class for {@code group}'s transport. */
    public static Class<? extends SocketChannel> socketChannel(EventLoopGroup group) {
        return isEpoll(group) ? EpollSocketChannel.class : NioSocketChannel.class;
    }

    /** The listening socket class for {@code group}'s transport. */
    public static Class<? extends ServerSocketChannel> serverChannel(EventLoopGroup group) {
        return isEpoll(group) ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
    }
}
