using System.Data;
using Dapper;
using Microsoft.Data.Sqlite;
using Npgsql;
using NpgsqlTypes;

namespace IncidentBot.Storage;

/// <summary>A JSON document parameter: <c>jsonb</c> on PostgreSQL, text on SQLite.</summary>
internal readonly record struct JsonText(string Value);

/// <summary>
/// Dapper's type handlers are process-wide, so they decide per parameter which provider they are writing
/// for. Every class that runs SQL calls <see cref="EnsureRegistered"/> from its static constructor.
/// </summary>
internal static class TypeHandlers
{
    private static readonly Lock Gate = new();
    private static bool _registered;

    public static void EnsureRegistered()
    {
        lock (Gate)
        {
            if (_registered)
            {
                return;
            }

            // Dapper consults its built-in type map before handlers when binding parameters, so the
            // built-in DateTimeOffset mapping has to go for SetValue to be called at all.
            SqlMapper.RemoveTypeMap(typeof(DateTimeOffset));
            SqlMapper.RemoveTypeMap(typeof(DateTimeOffset?));
            SqlMapper.AddTypeHandler(new DateTimeOffsetHandler());
            SqlMapper.AddTypeHandler(new JsonTextHandler());
            _registered = true;
        }
    }

    private sealed class DateTimeOffsetHandler : SqlMapper.TypeHandler<DateTimeOffset>
    {
        public override void SetValue(IDbDataParameter parameter, DateTimeOffset value) => DatabaseValues.SetTime(parameter, value);

        public override DateTimeOffset Parse(object value) => value switch
        {
            string text => DatabaseTime.FromIsoText(text),
            DateTime dateTime => DatabaseTime.FromDateTime(dateTime),
            DateTimeOffset dateTimeOffset => DatabaseTime.Truncate(dateTimeOffset),
            _ => throw new InvalidCastException($"Cannot read a time from a {value.GetType().Name}."),
        };
    }

    private sealed class JsonTextHandler : SqlMapper.TypeHandler<JsonText>
    {
        public override void SetValue(IDbDataParameter parameter, JsonText value)
        {
            if (parameter is NpgsqlParameter npgsql)
            {
                npgsql.NpgsqlDbType = NpgsqlDbType.Jsonb;
            }
            else
            {
                parameter.DbType = DbType.String;
            }

            parameter.Value = value.Value;
        }

        public override JsonText Parse(object value) => new(value as string ?? value.ToString() ?? "");
    }
}

/// <summary>How a value is written as a parameter on either store, for the SQL that does not go through Dapper.</summary>
internal static class DatabaseValues
{
    public static void Set(IDbDataParameter parameter, object? value)
    {
        switch (value)
        {
            case null:
                parameter.Value = DBNull.Value;
                break;
            case DateTimeOffset time:
                SetTime(parameter, time);
                break;
            default:
                parameter.Value = value;
                break;
        }
    }

    public static void SetTime(IDbDataParameter parameter, DateTimeOffset value)
    {
        var utc = DatabaseTime.Truncate(value);
        switch (parameter)
        {
            case SqliteParameter sqlite:
                sqlite.SqliteType = SqliteType.Text;
                sqlite.Value = DatabaseTime.ToIsoText(utc);
                break;
            case NpgsqlParameter npgsql:
                // Npgsql writes only UTC DateTimes to timestamptz.
                npgsql.NpgsqlDbType = NpgsqlDbType.TimestampTz;
                npgsql.Value = utc.UtcDateTime;
                break;
            default:
                parameter.DbType = DbType.DateTimeOffset;
                parameter.Value = utc;
                break;
        }
    }
}
