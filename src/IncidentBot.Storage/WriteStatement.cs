using System.Collections.Concurrent;
using System.Data.Common;
using System.Text.RegularExpressions;

namespace IncidentBot.Storage;

/// <summary>
/// One SQL statement of an inbound append and its parameters. Unlike a write given as code, the
/// <see cref="GroupCommitWriter"/> can send a whole batch of these in one round trip (decision 11, addendum). The
/// statement answers with a result set (<c>RETURNING</c>), even an empty one, so that each write of a batch finds its own.
/// </summary>
public sealed partial class WriteStatement(string sql)
{
    private static readonly ConcurrentDictionary<string, Positional> PositionalForms = new();

    private readonly List<KeyValuePair<string, object?>> _parameters = [];

    public string Sql => sql;

    public WriteStatement With(string name, object? value)
    {
        _parameters.Add(new(name, value));
        return this;
    }

    /// <summary>
    /// Binds the statement as a batch command with positional parameters (<c>$1</c>, …): PostgreSQL's own form, which the
    /// driver sends as it is instead of parsing and rewriting the SQL on every execution.
    /// </summary>
    internal void BindTo(DbBatchCommand command)
    {
        var positional = PositionalForms.GetOrAdd(sql, Positional.Of);
        if (positional.Names.Count != _parameters.Count)
        {
            throw new InvalidOperationException($"The statement has {_parameters.Count} parameters, its SQL {positional.Names.Count}.");
        }

        command.CommandText = positional.Sql;
        foreach (var name in positional.Names)
        {
            var index = _parameters.FindIndex(p => p.Key == name);
            if (index < 0)
            {
                throw new InvalidOperationException($"The statement has no value for @{name}.");
            }

            var parameter = command.CreateParameter();
            DatabaseValues.Set(parameter, _parameters[index].Value);
            command.Parameters.Add(parameter);
        }
    }

    /// <summary>The SQL with <c>@Name</c> turned into <c>$n</c>, n counting the names in the order they first appear.</summary>
    private sealed record Positional(string Sql, IReadOnlyList<string> Names)
    {
        public static Positional Of(string sql)
        {
            var names = new List<string>();
            var rewritten = NamedParameter().Replace(sql, match =>
            {
                var name = match.Groups[1].Value;
                var index = names.IndexOf(name);
                if (index < 0)
                {
                    names.Add(name);
                    index = names.Count - 1;
                }

                return "$" + (index + 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
            });
            return new Positional(rewritten, names);
        }
    }

    [GeneratedRegex(@"@([A-Za-z_][A-Za-z0-9_]*)")]
    private static partial Regex NamedParameter();

    internal DbCommand CreateCommand(DbConnection connection, DbTransaction transaction)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        foreach (var (name, value) in _parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            DatabaseValues.Set(parameter, value);
            command.Parameters.Add(parameter);
        }

        return command;
    }
}
