namespace IncidentBot.Core.Security;

/// <summary>
/// Reads a request body that has not been authenticated yet, but never more of it than <c>maxBytes</c>: a body
/// past the limit (whatever its Content-Length said, chunked or not) is abandoned at the first byte over it.
/// </summary>
public static class BoundedBody
{
    /// <summary>The whole body, or null as soon as it proves longer than <paramref name="maxBytes"/>.</summary>
    public static async Task<byte[]?> ReadAsync(Stream body, int maxBytes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(body);
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > maxBytes)
            {
                return null;
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }
}
