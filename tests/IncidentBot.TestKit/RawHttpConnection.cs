using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace IncidentBot.TestKit;

/// <summary>
/// One HTTP/1.1 connection written byte by byte, for what HttpClient will not do: announce a huge body and not send
/// it, or send a chunked body that never ends. Reads the status line back and sees whether the server hung up.
/// </summary>
public sealed class RawHttpConnection : IAsyncDisposable
{
    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;
    private readonly StringBuilder _received = new();

    private RawHttpConnection(TcpClient tcp)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
    }

    /// <summary>Bytes of body written so far.</summary>
    public long BodyBytesSent { get; private set; }

    public static async Task<RawHttpConnection> OpenAsync(Uri server)
    {
        ArgumentNullException.ThrowIfNull(server);
        var tcp = new TcpClient();
        await tcp.ConnectAsync(server.Host, server.Port);
        return new RawHttpConnection(tcp);
    }

    /// <summary>Writes the request line and headers (Host is added).</summary>
    public async Task SendHeadAsync(string method, string path, Uri server, IReadOnlyDictionary<string, string> headers)
    {
        ArgumentNullException.ThrowIfNull(server);
        ArgumentNullException.ThrowIfNull(headers);
        var head = new StringBuilder($"{method} {path} HTTP/1.1\r\nHost: {server.Authority}\r\n");
        foreach (var (name, value) in headers)
        {
            head.Append(CultureInfo.InvariantCulture, $"{name}: {value}\r\n");
        }

        head.Append("\r\n");
        await _stream.WriteAsync(Encoding.ASCII.GetBytes(head.ToString()));
    }

    /// <summary>Writes one chunk of a chunked body (never the terminating zero chunk).</summary>
    public async Task SendChunkAsync(int size, CancellationToken cancellationToken = default)
    {
        var chunk = new byte[size];
        Array.Fill(chunk, (byte)'x');
        await _stream.WriteAsync(Encoding.ASCII.GetBytes(size.ToString("x", CultureInfo.InvariantCulture) + "\r\n"), cancellationToken);
        await _stream.WriteAsync(chunk, cancellationToken);
        await _stream.WriteAsync("\r\n"u8.ToArray(), cancellationToken);
        BodyBytesSent += size;
    }

    public async Task SendBytesAsync(byte[] bytes)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        await _stream.WriteAsync(bytes);
        BodyBytesSent += bytes.Length;
    }

    /// <summary>Waits for the response's status line and headers; returns the status code.</summary>
    public async Task<int> ReadStatusAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var buffer = new byte[4096];
        while (!_received.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
        {
            var read = await _stream.ReadAsync(buffer, cts.Token);
            if (read == 0)
            {
                throw new IOException($"The server closed the connection before answering: {_received}");
            }

            _received.Append(Encoding.ASCII.GetString(buffer, 0, read));
        }

        var text = _received.ToString();
        return int.Parse(text.AsSpan(9, 3), CultureInfo.InvariantCulture);
    }

    /// <summary>The response head and whatever followed it, as read so far.</summary>
    public string Received => _received.ToString();

    /// <summary>
    /// True when the server closes (or resets) the connection within <paramref name="timeout"/>, while this side
    /// keeps <paramref name="feed"/>ing it: proof that the rest of an endless body was not read.
    /// </summary>
    public async Task<bool> ServerHangsUpAsync(TimeSpan timeout, Func<CancellationToken, Task>? feed = null)
    {
        using var cts = new CancellationTokenSource(timeout);
        var buffer = new byte[4096];
        var reading = Task.Run(async () =>
        {
            try
            {
                while (await _stream.ReadAsync(buffer, cts.Token) > 0)
                {
                }

                return true;
            }
            catch (IOException)
            {
                return true;
            }
            catch (OperationCanceledException)
            {
                return false;
            }
        });
        while (!reading.IsCompleted && feed is not null && !cts.IsCancellationRequested)
        {
            try
            {
                await feed(cts.Token);
            }
            catch (IOException)
            {
                // Writing into a connection the server reset: it hung up.
                break;
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        return await reading;
    }

    public ValueTask DisposeAsync()
    {
        _stream.Dispose();
        _tcp.Dispose();
        return ValueTask.CompletedTask;
    }
}
