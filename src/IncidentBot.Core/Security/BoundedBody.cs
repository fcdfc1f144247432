using System.Buffers;

namespace IncidentBot.Core.Security;

/// <summary>
/// Reads a request body that has not been authenticated yet, but never more of it than <c>maxBytes</c>: a body
/// past the limit (whatever its Content-Length said, chunked or not) is abandoned at the first byte over it.
/// </summary>
public static class BoundedBody
{
    /// <summary>The whole body, or null as soon as it proves longer than <paramref name="maxBytes"/>.</summary>
    public static Task<byte[]?> ReadAsync(Stream body, int maxBytes, CancellationToken cancellationToken) =>
        ReadAsync(body, declaredLength: null, maxBytes, cancellationToken);

    /// <summary>
    /// As <see cref="ReadAsync(Stream, int, CancellationToken)"/>; a body that declares its length (Content-Length, at
    /// most <paramref name="maxBytes"/>) is read straight into an array of that size, the usual case on the ingest path.
    /// </summary>
    public static async Task<byte[]?> ReadAsync(Stream body, long? declaredLength, int maxBytes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (declaredLength is { } length && length <= maxBytes)
        {
            var exact = new byte[length];
            var filled = 0;
            int read;
            while (filled < exact.Length && (read = await body.ReadAsync(exact.AsMemory(filled), cancellationToken)) > 0)
            {
                filled += read;
            }

            if (filled < exact.Length)
            {
                return exact[..filled];
            }

            // The declared length is a claim; what follows it, if anything, still counts against the limit.
            return await ReadRestAsync(body, exact, maxBytes, cancellationToken);
        }

        return await ReadRestAsync(body, [], maxBytes, cancellationToken);
    }

    private static async Task<byte[]?> ReadRestAsync(Stream body, byte[] start, int maxBytes, CancellationToken cancellationToken)
    {
        var chunk = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            var read = await body.ReadAsync(chunk, cancellationToken);
            if (read == 0)
            {
                return start;
            }

            using var buffer = new MemoryStream();
            buffer.Write(start);
            do
            {
                if (buffer.Length + read > maxBytes)
                {
                    return null;
                }

                buffer.Write(chunk, 0, read);
            }
            while ((read = await body.ReadAsync(chunk, cancellationToken)) > 0);

            return buffer.ToArray();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }
    }
}
