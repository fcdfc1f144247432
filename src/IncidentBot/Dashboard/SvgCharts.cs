using System.Globalization;
using System.Text;
using IncidentBot.Core.Incidents;

namespace IncidentBot.Dashboard;

/// <summary>Server-rendered SVG charts: no front-end build, readable without script, scales to a phone.</summary>
internal static class SvgCharts
{
    private const int Width = 720;
    private const int Height = 260;
    private const int Left = 48;
    private const int Bottom = 40;
    private const int Top = 24;
    private const int Right = 12;

    public sealed record Series(Severity Severity, IReadOnlyList<double?> Values);

    /// <summary>One stacked bar per label, a segment per severity.</summary>
    public static string StackedBars(string title, IReadOnlyList<string> labels, IReadOnlyList<Series> series, string unit)
    {
        var totals = labels.Select((_, i) => series.Sum(s => s.Values[i] ?? 0)).ToList();
        var max = NiceMax(totals.DefaultIfEmpty(0).Max());
        var svg = Start(title);
        Axis(svg, max, unit);
        var slot = (double)(Width - Left - Right) / Math.Max(1, labels.Count);
        for (var i = 0; i < labels.Count; i++)
        {
            var x = Left + (i * slot) + (slot * 0.15);
            var baseline = (double)(Height - Bottom);
            foreach (var s in series)
            {
                var value = s.Values[i] ?? 0;
                if (value <= 0)
                {
                    continue;
                }

                var h = value / max * (Height - Bottom - Top);
                baseline -= h;
                svg.Append(CultureInfo.InvariantCulture,
                    $"<rect class=\"sev{(int)s.Severity}\" x=\"{x:F1}\" y=\"{baseline:F1}\" width=\"{slot * 0.7:F1}\" height=\"{h:F1}\"><title>{labels[i]}: {value:0.#} {s.Severity.ToLabel()}</title></rect>");
            }
        }

        XLabels(svg, labels, slot);
        return End(svg, series);
    }

    /// <summary>One line per severity; a missing value breaks the line.</summary>
    public static string Lines(string title, IReadOnlyList<string> labels, IReadOnlyList<Series> series, string unit)
    {
        var max = NiceMax(series.SelectMany(s => s.Values).OfType<double>().DefaultIfEmpty(0).Max());
        var svg = Start(title);
        Axis(svg, max, unit);
        var slot = (double)(Width - Left - Right) / Math.Max(1, labels.Count);
        foreach (var s in series)
        {
            var path = new StringBuilder();
            var pen = 'M';
            for (var i = 0; i < labels.Count; i++)
            {
                if (s.Values[i] is not { } value)
                {
                    pen = 'M';
                    continue;
                }

                var x = Left + (i * slot) + (slot / 2);
                var y = Height - Bottom - (value / max * (Height - Bottom - Top));
                path.Append(CultureInfo.InvariantCulture, $"{pen}{x:F1},{y:F1} ");
                svg.Append(CultureInfo.InvariantCulture,
                    $"<circle class=\"sev{(int)s.Severity}\" cx=\"{x:F1}\" cy=\"{y:F1}\" r=\"3\"><title>{labels[i]}: {value:0.#} {unit} {s.Severity.ToLabel()}</title></circle>");
                pen = 'L';
            }

            if (path.Length > 0)
            {
                svg.Append(CultureInfo.InvariantCulture, $"<path class=\"line sev{(int)s.Severity}\" d=\"{path.ToString().Trim()}\"/>");
            }
        }

        XLabels(svg, labels, slot);
        return End(svg, series);
    }

    private static StringBuilder Start(string title) => new StringBuilder().Append(CultureInfo.InvariantCulture,
        $"<figure class=\"chart\"><figcaption>{Html.E(title)}</figcaption><svg viewBox=\"0 0 {Width} {Height}\" role=\"img\" aria-label=\"{Html.E(title)}\">");

    private static string End(StringBuilder svg, IReadOnlyList<Series> series)
    {
        svg.Append("</svg><div class=\"legend\">");
        foreach (var s in series)
        {
            svg.Append(CultureInfo.InvariantCulture, $"<span><i class=\"swatch sev{(int)s.Severity}\"></i>{s.Severity.ToLabel()}</span>");
        }

        return svg.Append("</div></figure>").ToString();
    }

    private static void Axis(StringBuilder svg, double max, string unit)
    {
        for (var step = 0; step <= 4; step++)
        {
            var value = max * step / 4;
            var y = Height - Bottom - ((double)step / 4 * (Height - Bottom - Top));
            svg.Append(CultureInfo.InvariantCulture,
                $"<line class=\"grid\" x1=\"{Left}\" x2=\"{Width - Right}\" y1=\"{y:F1}\" y2=\"{y:F1}\"/><text class=\"tick\" x=\"{Left - 6}\" y=\"{y + 4:F1}\" text-anchor=\"end\">{value:0.##}</text>");
        }

        svg.Append(CultureInfo.InvariantCulture, $"<text class=\"unit\" x=\"{Left}\" y=\"{Top - 10}\">{Html.E(unit)}</text>");
    }

    private static void XLabels(StringBuilder svg, IReadOnlyList<string> labels, double slot)
    {
        var every = Math.Max(1, (int)Math.Ceiling(labels.Count / 8.0));
        for (var i = 0; i < labels.Count; i += every)
        {
            var x = Left + (i * slot) + (slot / 2);
            svg.Append(CultureInfo.InvariantCulture, $"<text class=\"tick\" x=\"{x:F1}\" y=\"{Height - Bottom + 16}\" text-anchor=\"middle\">{Html.E(labels[i][5..])}</text>");
        }
    }

    private static double NiceMax(double max)
    {
        if (max <= 0)
        {
            return 1;
        }

        var magnitude = Math.Pow(10, Math.Floor(Math.Log10(max)));
        foreach (var factor in new[] { 1, 2, 2.5, 5, 10 })
        {
            if (factor * magnitude >= max)
            {
                return factor * magnitude;
            }
        }

        return 10 * magnitude;
    }
}
