using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace IncidentBot.TestKit.Slack;

/// <summary>
/// A TCP relay on loopback in front of a server, so a test can leave a connection half-open: <see cref="FreezeAll"/>
/// closes the server's side of every relayed connection but keeps the client's side open and silent, as a connection
/// whose peer vanished without a FIN (a NAT or load balancer dropping it) looks to the client.
/// </summary>
public sealed class SocketRelay : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly IPEndPoint _target;
    private readonly ConcurrentDictionary<int, Relayed> _connections = new();
    private readonly CancellationTokenSource _stop = new();
    private int _counter;

    public SocketRelay(IPEndPoint target)
    {
        _target = target;
        _listener.Start();
        _ = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Every connection relayed now goes half-open; connections made later are relayed normally.</summary>
    public int FreezeAll()
    {
        var frozen = 0;
        foreach (var connection in _connections.Values)
        {
            if (connection.Freeze())
            {
                frozen++;
            }
        }

        return frozen;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        foreach (var connection in _connections.Values)
        {
            connection.Dispose();
        }

        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            var upstream = new TcpClient();
            try
            {
                await upstream.ConnectAsync(_target, _stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException)
            {
                client.Dispose();
                upstream.Dispose();
                continue;
            }

            var id = Interlocked.Increment(ref _counter);
            var relayed = new Relayed(client, upstream);
            _connections[id] = relayed;
            _ = relayed.PumpAsync().ContinueWith(
                _ =>
                {
                    if (!relayed.IsFrozen)
                    {
                        _connections.TryRemove(id, out var _);
                    }
                },
                TaskScheduler.Default);
        }
    }

    private sealed class Relayed(TcpClient client, TcpClient upstream) : IDisposable
    {
        private int _frozen;

        public bool IsFrozen => Volatile.Read(ref _frozen) == 1;

        public async Task PumpAsync()
        {
            await Task.WhenAny(CopyAsync(client, upstream), CopyAsync(upstream, client));
            if (!IsFrozen)
            {
                Dispose();
            }

            // Frozen: the client's side stays open, never answered, until the relay is disposed.
        }

        /// <summary>Closes the server's side only; what the client sends from now on goes nowhere.</summary>
        public bool Freeze()
        {
            if (Interlocked.Exchange(ref _frozen, 1) == 1)
            {
                return false;
            }

            // Shutdown first: a close alone waits for the read still pending on the socket, so the server would never hear it.
            try
            {
                upstream.Client.Shutdown(SocketShutdown.Both);
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                // Already gone.
            }

            upstream.Dispose();
            return true;
        }

        public void Dispose()
        {
            client.Dispose();
            upstream.Dispose();
        }

        private static async Task CopyAsync(TcpClient from, TcpClient to)
        {
            var buffer = new byte[16 * 1024];
            try
            {
                var source = from.GetStream();
                var destination = to.GetStream();
                while (true)
                {
                    var read = await source.ReadAsync(buffer);
                    if (read == 0)
                    {
                        return;
                    }

                    await destination.WriteAsync(buffer.AsMemory(0, read));
                }
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException or SocketException)
            {
                // One side closed, or the relay froze the connection.
            }
        }
    }
}
