package io.raftkv.transport;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import org.junit.jupiter.api.Test;

import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class NettyIoTest {
    private static boolean linuxX8664() {
        String arch = System.getProperty("os.arch");
        return System.getProperty("os.name").toLowerCase().contains("linux") && ("amd64".equals(arch) || "x86_64".equals(arch));
    }

    @Test
    void onLinuxX8664TheNativeEpollTransportLoadsAndIsTheDefault() {
        assumeTrue(linuxX8664(), "the packaged native library is for Linux x86-64");
        assumeTrue(!Boolean.getBoolean(NettyIo.NIO_PROPERTY), "NIO asked for with -D" + NettyIo.NIO_PROPERTY);
        assertThat(Epoll.isAvailable()).as("native epoll unavailable: %s", Epoll.unavailabilityCause()).isTrue();
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NettyIo.ioHandlerFactory());
        try {
            assertThat(NettyIo.isEpoll(group)).isTrue();
            assertThat(NettyIo.name(group)).isEqualTo("epoll");
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    @Test
    void channelClassesFollowTheGroupsTransport() {
        EventLoopGroup nio = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        try {
            assertThat(NettyIo.isEpoll(nio)).isFalse();
            assertThat(NettyIo.name(nio)).isEqualTo("nio");
            assertThat(NettyIo.socketChannel(nio)).isEqualTo(NioSocketChannel.class);
            assertThat(NettyIo.serverChannel(nio)).isEqualTo(NioServerSocketChannel.class);
        } finally {
            nio.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
        assumeTrue(Epoll.isAvailable(), "no native epoll here");
        EventLoopGroup epoll = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        try {
            assertThat(NettyIo.socketChannel(epoll)).isEqualTo(EpollSocketChannel.class);
            assertThat(NettyIo.serverChannel(epoll)).isEqualTo(EpollServerSocketChannel.class);
        } finally {
            epoll.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }
}
