using System.Data.Common;

namespace IncidentBot.Storage;

/// <summary>
/// One SQL statement of an inbound append and its parameters. Unlike a write given as code, the
/// <see cref="GroupCommitWriter"/> can send a whole batch of these in one round trip (decision 11, addendum).
/// </summary>
public sealed class WriteStatement(string sql)
{
    private readonly List<KeyValuePair<string, object?>> _parameters = [];

    public string Sql => sql;

    public WriteStatement With(string name, object? value)
    {
        _parameters.Add(new(name, value));
        return this;
    }

    internal void BindTo(DbBatchCommand command)
    {
        command.CommandText = sql;
        foreach (var (name, value) in _parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            DatabaseValues.Set(parameter, value);
            command.Parameters.Add(parameter);
        }
    }

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
