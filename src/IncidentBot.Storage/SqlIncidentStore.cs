using System.Data.Common;
using System.Globalization;
using Dapper;
using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;
using Npgsql;

namespace IncidentBot.Storage;

/// <summary>
/// <see cref="IIncidentStore"/> on SQLite or PostgreSQL, with the same SQL for both. Each change is one
/// transaction that also writes the change's events to the outbox. Appends (captured messages, notes, pins, edits) go
/// through the instance's <see cref="GroupCommitWriter"/>: many of them share one transaction and one commit.
/// </summary>
public sealed class SqlIncidentStore(IDbConnectionFactory database, GroupCommitWriter writer, TimeProvider time) : IIncidentStore
{
    static SqlIncidentStore() => TypeHandlers.EnsureRegistered();

    public async Task<Incident> DeclareAsync(Func<IncidentNumber, IncidentChange> build, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(build);
        return await database.RunAsync(async connection =>
        {
            await using var transaction = await connection.BeginWriteAsync(cancellationToken);
            var number = new IncidentNumber(await connection.ExecuteScalarAsync<int>(
                new CommandDefinition(NextNumberSql, transaction: transaction, cancellationToken: cancellationToken)));
            var change = build(number);
            var incident = change.Incident;
            var now = time.GetUtcNow();
            var id = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
                InsertIncidentSql,
                new
                {
                    Number = number.Value,
                    incident.Title,
                    incident.Description,
                    Severity = (int)incident.Severity,
                    Status = incident.Status.ToToken(),
                    DeclaredByPlatform = incident.DeclaredBy.Platform,
                    DeclaredByUserId = incident.DeclaredBy.UserId,
                    DeclaredByName = incident.DeclaredBy.Name,
                    incident.DeclaredAt,
                    incident.AcknowledgedAt,
                    incident.MitigatedAt,
                    incident.ResolvedAt,
                    incident.LastUpdateAt,
                    incident.NextUpdateDueAt,
                    incident.Summary,
                    incident.IsPrivate,
                    CreatedAt = now,
                },
                transaction,
                cancellationToken: cancellationToken));
            await WriteChangeAsync(connection, transaction, id, change, now, cancellationToken);
            var stored = await LoadByIdAsync(connection, transaction, id, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            return stored;
        }, cancellationToken);
    }

    private const string NextNumberSql = "UPDATE incident_counter SET last_number = last_number + 1 WHERE id = 1 RETURNING last_number";

    private const string InsertIncidentSql = """
        INSERT INTO incidents (
            number, title, description, severity, status,
            declared_by_platform, declared_by_user_id, declared_by_name, declared_at,
            acknowledged_at, mitigated_at, resolved_at, last_update_at, next_update_due_at,
            summary, is_private, version, created_at)
        VALUES (
            @Number, @Title, @Description, @Severity, @Status,
            @DeclaredByPlatform, @DeclaredByUserId, @DeclaredByName, @DeclaredAt,
            @AcknowledgedAt, @MitigatedAt, @ResolvedAt, @LastUpdateAt, @NextUpdateDueAt,
            @Summary, @IsPrivate, 1, @CreatedAt)
        RETURNING id
        """;

    public async Task<Incident> SaveAsync(IncidentChange change, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(change);
        var incident = change.Incident;
        if (change.AppendOnly)
        {
            // An append leaves the incident row alone, unlocked: pins, pages and action items in a busy war room neither
            // wait for each other nor for a lifecycle change (whose events they may then be delivered before or after),
            // and they share their commit with the instance's other appends.
            var now = time.GetUtcNow();
            return await writer.WriteAsync(
                async (connection, transaction, ct) =>
                {
                    await WriteChangeAsync(connection, transaction, incident.Id, change, now, ct);
                    return await LoadByIdAsync(connection, transaction, incident.Id, ct);
                },
                cancellationToken);
        }

        return await database.RunAsync(async connection =>
        {
            await using var transaction = await connection.BeginWriteAsync(cancellationToken);
            var updated = await connection.ExecuteAsync(new CommandDefinition(UpdateIncidentSql, RowParameters(incident), transaction, cancellationToken: cancellationToken));
            if (updated == 0)
            {
                throw new ConcurrencyConflictException(incident.Number);
            }

            await WriteChangeAsync(connection, transaction, incident.Id, change, time.GetUtcNow(), cancellationToken);
            var stored = await LoadByIdAsync(connection, transaction, incident.Id, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            return stored;
        }, cancellationToken);
    }

    public async Task<bool> AppendAsync(
        IncidentNumber number, IReadOnlyList<NewTimelineEntry> entries, IReadOnlyList<IncidentEvent> events, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entries);
        ArgumentNullException.ThrowIfNull(events);
        var now = time.GetUtcNow();
        if (entries is [var note] && events.Count == 0)
        {
            // A note: one timeline-only insert, sent with the rest of the writer's batch in one round trip.
            var statement = TimelineStatement(AppendEntrySql, note, now).With("Number", number.Value);
            return await writer.WriteAsync(statement, async (reader, ct) => await reader.ReadAsync(ct), cancellationToken);
        }

        var sql = AppendSql(entries.Count, events.Count);
        var parameters = new DynamicParameters(new { Number = number.Value, CreatedAt = now });
        for (var i = 0; i < entries.Count; i++)
        {
            var entry = entries[i];
            parameters.Add($"OccurredAt{i}", entry.OccurredAt);
            parameters.Add($"Kind{i}", entry.Kind.ToToken());
            parameters.Add($"AuthorPlatform{i}", entry.Author?.Platform);
            parameters.Add($"AuthorUserId{i}", entry.Author?.UserId);
            parameters.Add($"AuthorName{i}", entry.Author?.Name);
            parameters.Add($"Text{i}", entry.Text);
            parameters.Add($"Pinned{i}", entry.Pinned);
            parameters.Add($"SourcePlatform{i}", entry.Source?.Platform);
            parameters.Add($"SourceChannel{i}", entry.Source?.Channel);
            parameters.Add($"SourceMessageId{i}", entry.Source?.MessageId);
        }

        for (var i = 0; i < events.Count; i++)
        {
            var stamped = events[i] with { IncidentId = 0, Number = number };
            parameters.Add($"EventType{i}", EventJson.TypeOf(stamped));
            parameters.Add($"Payload{i}", new JsonText(EventJson.Serialize(stamped)));
        }

        if (database.Provider == DatabaseProvider.Postgres)
        {
            // Entries with events: one command is one round trip and, as PostgreSQL runs the statements of a command up to
            // its Sync as one implicit transaction, one commit. Not a writer item: a write given as code sends its batch one by one.
            return await database.RunAsync(
                async connection => await connection.ExecuteAsync(new CommandDefinition(sql, parameters, cancellationToken: cancellationToken)) > 0,
                cancellationToken);
        }

        return await writer.WriteAsync(
            async (connection, transaction, ct) => await connection.ExecuteAsync(new CommandDefinition(sql, parameters, transaction, cancellationToken: ct)) > 0,
            cancellationToken);
    }

    private const string AppendEntrySql = $"""
        INSERT INTO timeline_entries (
            incident_id, occurred_at, kind, author_platform, author_user_id, author_name, text, pinned,
            source_platform, source_channel, source_message_id, created_at)
        SELECT i.id, @OccurredAt, @Kind, @AuthorPlatform, @AuthorUserId, @AuthorName, @Text, @Pinned,
            @SourcePlatform, @SourceChannel, @SourceMessageId, @CreatedAt
        FROM incidents i WHERE i.number = @Number
        ON CONFLICT (source_platform, source_channel, source_message_id) DO NOTHING
        RETURNING id
        """;

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<(DatabaseProvider, int, int), string> AppendSqlCache = new();

    /// <summary>
    /// One command: the inserts find the incident by number themselves (and put its id into each event's payload). An
    /// append does not change the incident, so the caller's read before it is as good as one after it: none is made.
    /// </summary>
    private string AppendSql(int entries, int events) => AppendSqlCache.GetOrAdd((database.Provider, entries, events), key =>
    {
        var (provider, entryCount, eventCount) = key;
        var postgres = provider == DatabaseProvider.Postgres;
        var sql = new System.Text.StringBuilder();
        for (var i = 0; i < entryCount; i++)
        {
            sql.Append(CultureInfo.InvariantCulture, $"""
                INSERT INTO timeline_entries (
                    incident_id, occurred_at, kind, author_platform, author_user_id, author_name, text, pinned,
                    source_platform, source_channel, source_message_id, created_at)
                SELECT i.id, @OccurredAt{i}, @Kind{i}, @AuthorPlatform{i}, @AuthorUserId{i}, @AuthorName{i}, @Text{i}, @Pinned{i},
                    @SourcePlatform{i}, @SourceChannel{i}, @SourceMessageId{i}, @CreatedAt
                FROM incidents i WHERE i.number = @Number
                ON CONFLICT (source_platform, source_channel, source_message_id) DO NOTHING;

                """);
        }

        for (var i = 0; i < eventCount; i++)
        {
            var payload = postgres ? $"jsonb_set(@Payload{i}, '{{incidentId}}', to_jsonb(i.id))" : $"json_set(@Payload{i}, '$.incidentId', i.id)";
            sql.Append(CultureInfo.InvariantCulture, $"""
                INSERT INTO outbox (incident_id, event_type, payload, created_at, available_at)
                SELECT i.id, @EventType{i}, {payload}, @CreatedAt, @CreatedAt FROM incidents i WHERE i.number = @Number;

                """);
        }

        if (postgres && eventCount > 0)
        {
            // Delivered at commit, to every instance listening. NOTIFY, not SELECT pg_notify: a result set left unread
            // makes Dapper cancel the command on dispose (a second connection to the server, per note).
            sql.Append(CultureInfo.InvariantCulture, $"NOTIFY {OutboxListener.Channel};\n");
        }

        return sql.ToString();
    });

    private static object RowParameters(Incident incident) => new
    {
        incident.Id,
        incident.Version,
        incident.Title,
        incident.Description,
        Severity = (int)incident.Severity,
        Status = incident.Status.ToToken(),
        incident.AcknowledgedAt,
        incident.MitigatedAt,
        incident.ResolvedAt,
        incident.LastUpdateAt,
        incident.NextUpdateDueAt,
        incident.Summary,
        incident.IsPrivate,
    };

    // The version check makes the row lock decide between concurrent savers: the loser matches no row.
    private const string UpdateIncidentSql = """
        UPDATE incidents SET
            title = @Title,
            description = @Description,
            severity = @Severity,
            status = @Status,
            acknowledged_at = @AcknowledgedAt,
            mitigated_at = @MitigatedAt,
            resolved_at = @ResolvedAt,
            last_update_at = @LastUpdateAt,
            next_update_due_at = @NextUpdateDueAt,
            summary = @Summary,
            is_private = @IsPrivate,
            version = version + 1
        WHERE id = @Id AND version = @Version
        """;

    /// <summary>Everything of a change except the incident row itself; <paramref name="incidentId"/> is the stored id.</summary>
    private static async Task WriteChangeAsync(
        DbConnection connection, DbTransaction transaction, long incidentId, IncidentChange change, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (change.RoleAssignment is { } assignment)
        {
            var role = new { IncidentId = incidentId, Role = assignment.Role.ToToken(), assignment.AssignedAt };
            await connection.ExecuteAsync(new CommandDefinition(EndRoleSql, role, transaction, cancellationToken: cancellationToken));
            await connection.ExecuteAsync(new CommandDefinition(
                InsertRoleSql,
                new
                {
                    IncidentId = incidentId,
                    Role = assignment.Role.ToToken(),
                    HolderPlatform = assignment.Holder.Platform,
                    HolderUserId = assignment.Holder.UserId,
                    HolderName = assignment.Holder.Name,
                    AssignedByPlatform = assignment.AssignedBy?.Platform,
                    AssignedByUserId = assignment.AssignedBy?.UserId,
                    AssignedByName = assignment.AssignedBy?.Name,
                    assignment.AssignedAt,
                },
                transaction,
                cancellationToken: cancellationToken));
        }

        if (change.Entries.Count > 0)
        {
            var entries = change.Entries.Select(e => TimelineParameters(incidentId, e, now)).ToList();
            await connection.ExecuteAsync(new CommandDefinition(InsertTimelineSql, entries, transaction, cancellationToken: cancellationToken));
        }

        if (change.ActionItem is { } item)
        {
            await connection.ExecuteAsync(new CommandDefinition(
                InsertActionItemSql,
                new
                {
                    IncidentId = incidentId,
                    item.Text,
                    OwnerPlatform = item.Owner?.Platform,
                    OwnerUserId = item.Owner?.UserId,
                    OwnerName = item.Owner?.Name,
                    CreatedByPlatform = item.CreatedBy?.Platform,
                    CreatedByUserId = item.CreatedBy?.UserId,
                    CreatedByName = item.CreatedBy?.Name,
                    item.CreatedAt,
                },
                transaction,
                cancellationToken: cancellationToken));
        }

        if (change.LinkWarRoom is { } room)
        {
            var linked = await connection.ExecuteAsync(new CommandDefinition(
                InsertWarRoomSql,
                new { IncidentId = incidentId, room.Platform, room.Channel, CreatedAt = now },
                transaction,
                cancellationToken: cancellationToken));
            if (linked == 0)
            {
                throw new WarRoomTakenException(room);
            }
        }

        if (change.Events.Count > 0)
        {
            var events = change.Events.Select(e => e with { IncidentId = incidentId }).Select(e => new
            {
                IncidentId = incidentId,
                EventType = EventJson.TypeOf(e),
                Payload = new JsonText(EventJson.Serialize(e)),
                CreatedAt = now,
            }).ToList();
            await connection.ExecuteAsync(new CommandDefinition(InsertOutboxSql, events, transaction, cancellationToken: cancellationToken));
            if (connection is NpgsqlConnection)
            {
                // Delivered at commit, to every instance listening (one notification per transaction however many events).
                await connection.ExecuteAsync(new CommandDefinition(OutboxListener.NotifySql, transaction: transaction, cancellationToken: cancellationToken));
            }
        }
    }

    private const string EndRoleSql = """
        UPDATE role_assignments SET ended_at = @AssignedAt
        WHERE incident_id = @IncidentId AND role = @Role AND ended_at IS NULL
        """;

    private const string InsertRoleSql = """
        INSERT INTO role_assignments (
            incident_id, role, holder_platform, holder_user_id, holder_name,
            assigned_by_platform, assigned_by_user_id, assigned_by_name, assigned_at)
        VALUES (
            @IncidentId, @Role, @HolderPlatform, @HolderUserId, @HolderName,
            @AssignedByPlatform, @AssignedByUserId, @AssignedByName, @AssignedAt)
        """;

    // A change may carry an entry for a chat message that is already in the timeline; it is not stored twice.
    private const string InsertTimelineSql = """
        INSERT INTO timeline_entries (
            incident_id, occurred_at, kind, author_platform, author_user_id, author_name, text, pinned,
            source_platform, source_channel, source_message_id, created_at)
        VALUES (
            @IncidentId, @OccurredAt, @Kind, @AuthorPlatform, @AuthorUserId, @AuthorName, @Text, @Pinned,
            @SourcePlatform, @SourceChannel, @SourceMessageId, @CreatedAt)
        ON CONFLICT (source_platform, source_channel, source_message_id) DO NOTHING
        """;

    private const string InsertActionItemSql = """
        INSERT INTO action_items (
            incident_id, text, owner_platform, owner_user_id, owner_name,
            created_by_platform, created_by_user_id, created_by_name, created_at)
        VALUES (
            @IncidentId, @Text, @OwnerPlatform, @OwnerUserId, @OwnerName,
            @CreatedByPlatform, @CreatedByUserId, @CreatedByName, @CreatedAt)
        """;

    // DO NOTHING instead of catching the violation: on PostgreSQL an error would also abort the transaction.
    private const string InsertWarRoomSql = """
        INSERT INTO war_rooms (incident_id, platform, channel, created_at)
        VALUES (@IncidentId, @Platform, @Channel, @CreatedAt)
        ON CONFLICT (platform, channel) DO NOTHING
        """;

    private const string InsertOutboxSql = """
        INSERT INTO outbox (incident_id, event_type, payload, created_at, available_at)
        VALUES (@IncidentId, @EventType, @Payload, @CreatedAt, @CreatedAt)
        """;

    public async Task<Incident?> GetAsync(IncidentNumber number, CancellationToken cancellationToken)
    {
        var parameters = new { Number = number.Value };
        var incidents = database.Provider == DatabaseProvider.Postgres
            ? await ReadIncidentsPostgresAsync(GetByNumberPostgresSql, parameters, cancellationToken)
            : await ReadIncidentsAsync(GetByNumberSql, parameters, cancellationToken);
        return incidents.SingleOrDefault();
    }

    /// <summary>
    /// PostgreSQL: the incident with its current roles and war rooms as arrays, in one statement, so one snapshot without
    /// a BEGIN/COMMIT around three reads: one round trip and one statement for the read before every command.
    /// </summary>
    private static string IncidentsWithPartsPostgresSql(string where) => $"""
        SELECT {IncidentColumns},
            r.roles AS RoleTokens, r.platforms AS RolePlatforms, r.user_ids AS RoleUserIds, r.names AS RoleNames,
            w.platforms AS WarRoomPlatforms, w.channels AS WarRoomChannels
        FROM incidents
        CROSS JOIN LATERAL (
            SELECT array_agg(role ORDER BY id) AS roles, array_agg(holder_platform ORDER BY id) AS platforms,
                array_agg(holder_user_id ORDER BY id) AS user_ids, array_agg(holder_name ORDER BY id) AS names
            FROM role_assignments WHERE ended_at IS NULL AND incident_id = incidents.id) AS r
        CROSS JOIN LATERAL (
            SELECT array_agg(platform ORDER BY id) AS platforms, array_agg(channel ORDER BY id) AS channels
            FROM war_rooms WHERE incident_id = incidents.id) AS w
        WHERE {where}
        """;

    private static readonly string GetByNumberPostgresSql = IncidentsWithPartsPostgresSql("number = @Number");

    private static readonly string FindByWarRoomPostgresSql = IncidentsWithPartsPostgresSql($"id IN ({WarRoomIncidentId})");

    private async Task<IReadOnlyList<Incident>> ReadIncidentsPostgresAsync(string sql, object parameters, CancellationToken cancellationToken) =>
        await database.RunAsync(
            async connection => (await connection.QueryAsync<IncidentWithPartsRow>(new CommandDefinition(sql, parameters, cancellationToken: cancellationToken)))
                .Select(row => row.ToIncident())
                .ToList(),
            cancellationToken);

    private const string IncidentColumns = """
        id AS Id, number AS Number, title AS Title, description AS Description, severity AS Severity, status AS Status,
        declared_by_platform AS DeclaredByPlatform, declared_by_user_id AS DeclaredByUserId, declared_by_name AS DeclaredByName,
        declared_at AS DeclaredAt, acknowledged_at AS AcknowledgedAt, mitigated_at AS MitigatedAt, resolved_at AS ResolvedAt,
        last_update_at AS LastUpdateAt, next_update_due_at AS NextUpdateDueAt, summary AS Summary, is_private AS IsPrivate,
        version AS Version
        """;

    private const string CurrentRoleColumns = """
        incident_id AS IncidentId, role AS Role, holder_platform AS HolderPlatform, holder_user_id AS HolderUserId, holder_name AS HolderName
        """;

    private const string WarRoomColumns = "incident_id AS IncidentId, platform AS Platform, channel AS Channel";

    // Each read is three statements (incidents, their current roles, their war rooms) in one snapshot.
    private const string GetByNumberSql = $"""
        SELECT {IncidentColumns} FROM incidents WHERE number = @Number;
        SELECT {CurrentRoleColumns} FROM role_assignments
        WHERE ended_at IS NULL AND incident_id IN (SELECT id FROM incidents WHERE number = @Number);
        SELECT {WarRoomColumns} FROM war_rooms
        WHERE incident_id IN (SELECT id FROM incidents WHERE number = @Number) ORDER BY id;
        """;

    private const string GetByIdSql = $"""
        SELECT {IncidentColumns} FROM incidents WHERE id = @Id;
        SELECT {CurrentRoleColumns} FROM role_assignments WHERE ended_at IS NULL AND incident_id = @Id;
        SELECT {WarRoomColumns} FROM war_rooms WHERE incident_id = @Id ORDER BY id;
        """;

    public async Task<Incident?> FindByWarRoomAsync(ChatSpace room, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        var parameters = new { room.Platform, room.Channel };
        var incidents = database.Provider == DatabaseProvider.Postgres
            ? await ReadIncidentsPostgresAsync(FindByWarRoomPostgresSql, parameters, cancellationToken)
            : await ReadIncidentsAsync(FindByWarRoomSql, parameters, cancellationToken);
        return incidents.SingleOrDefault();
    }

    private const string WarRoomIncidentId = "SELECT incident_id FROM war_rooms WHERE platform = @Platform AND channel = @Channel";

    private const string FindByWarRoomSql = $"""
        SELECT {IncidentColumns} FROM incidents WHERE id IN ({WarRoomIncidentId});
        SELECT {CurrentRoleColumns} FROM role_assignments WHERE ended_at IS NULL AND incident_id IN ({WarRoomIncidentId});
        SELECT {WarRoomColumns} FROM war_rooms WHERE incident_id IN ({WarRoomIncidentId}) ORDER BY id;
        """;

    public Task<IReadOnlyList<Incident>> ListAsync(IncidentQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentOutOfRangeException.ThrowIfNegative(query.Limit);

        // Only the filters in use become SQL, so no parameter is ever an untyped NULL (PostgreSQL rejects those).
        var filters = new List<string>();
        var parameters = new DynamicParameters(new { query.Limit });
        if (query.OpenOnly)
        {
            filters.Add(OpenFilter);
        }

        if (query.ResolvedOnly)
        {
            filters.Add(ResolvedFilter);
        }

        if (query.Severity is { } severity)
        {
            filters.Add(SeverityFilter);
            parameters.Add("Severity", (int)severity);
        }

        if (query.DeclaredFrom is { } from)
        {
            filters.Add(DeclaredFromFilter);
            parameters.Add("DeclaredFrom", from);
        }

        if (query.DeclaredBefore is { } before)
        {
            filters.Add(DeclaredBeforeFilter);
            parameters.Add("DeclaredBefore", before);
        }

        if (query.PublicOnly)
        {
            filters.Add(PublicFilter);
        }

        if (!string.IsNullOrWhiteSpace(query.TitleContains))
        {
            filters.Add(TitleFilter);
            parameters.Add("TitlePattern", "%" + EscapeLike(query.TitleContains.Trim().ToLowerInvariant()) + "%");
        }

        var where = filters.Count == 0 ? "" : "WHERE " + string.Join(" AND ", filters);
        var listedIds = $"SELECT id FROM incidents {where} ORDER BY declared_at DESC, number DESC LIMIT @Limit";
        var sql = $"""
            SELECT {IncidentColumns} FROM incidents WHERE id IN ({listedIds}) ORDER BY declared_at DESC, number DESC;
            SELECT {CurrentRoleColumns} FROM role_assignments WHERE ended_at IS NULL AND incident_id IN ({listedIds});
            SELECT {WarRoomColumns} FROM war_rooms WHERE incident_id IN ({listedIds}) ORDER BY id;
            """;
        return ReadIncidentsAsync(sql, parameters, cancellationToken);
    }

    private const string OpenFilter = "status <> 'resolved'";
    private const string PublicFilter = "is_private = FALSE";
    private const string ResolvedFilter = "status = 'resolved'";
    private const string SeverityFilter = "severity = @Severity";
    private const string DeclaredFromFilter = "declared_at >= @DeclaredFrom";
    private const string DeclaredBeforeFilter = "declared_at < @DeclaredBefore";
    private const string TitleFilter = @"lower(title) LIKE @TitlePattern ESCAPE '\'";

    private static string EscapeLike(string text) =>
        text.Replace(@"\", @"\\", StringComparison.Ordinal).Replace("%", @"\%", StringComparison.Ordinal).Replace("_", @"\_", StringComparison.Ordinal);

    public async Task<IReadOnlyList<TimelineEntry>> GetTimelineAsync(long incidentId, CancellationToken cancellationToken)
    {
        return await database.RunAsync(async connection =>
        {
            var rows = await connection.QueryAsync<TimelineRow>(new CommandDefinition(
                GetTimelineSql, new { IncidentId = incidentId }, cancellationToken: cancellationToken));
            return rows.Select(r => r.ToEntry()).ToList();
        }, cancellationToken);
    }

    private const string TimelineColumns = """
        id AS Id, incident_id AS IncidentId, occurred_at AS OccurredAt, kind AS Kind,
        author_platform AS AuthorPlatform, author_user_id AS AuthorUserId, author_name AS AuthorName, text AS Text, pinned AS Pinned,
        source_platform AS SourcePlatform, source_channel AS SourceChannel, source_message_id AS SourceMessageId, edited_at AS EditedAt
        """;

    private const string GetTimelineSql = $"""
        SELECT {TimelineColumns} FROM timeline_entries
        WHERE incident_id = @IncidentId AND deleted_at IS NULL
        ORDER BY occurred_at, id
        """;

    public async Task<IReadOnlyList<RoleAssignment>> GetRoleHistoryAsync(long incidentId, CancellationToken cancellationToken)
    {
        return await database.RunAsync(async connection =>
        {
            var rows = await connection.QueryAsync<RoleRow>(new CommandDefinition(
                GetRoleHistorySql, new { IncidentId = incidentId }, cancellationToken: cancellationToken));
            return rows.Select(r => r.ToAssignment()).ToList();
        }, cancellationToken);
    }

    private const string GetRoleHistorySql = """
        SELECT incident_id AS IncidentId, role AS Role,
            holder_platform AS HolderPlatform, holder_user_id AS HolderUserId, holder_name AS HolderName,
            assigned_by_platform AS AssignedByPlatform, assigned_by_user_id AS AssignedByUserId, assigned_by_name AS AssignedByName,
            assigned_at AS AssignedAt, ended_at AS EndedAt
        FROM role_assignments
        WHERE incident_id = @IncidentId
        ORDER BY assigned_at, id
        """;

    public async Task<IReadOnlyList<ActionItem>> GetActionItemsAsync(long incidentId, CancellationToken cancellationToken)
    {
        return await database.RunAsync(async connection =>
        {
            var rows = await connection.QueryAsync<ActionItemRow>(new CommandDefinition(
                GetActionItemsSql, new { IncidentId = incidentId }, cancellationToken: cancellationToken));
            return rows.Select(r => r.ToActionItem()).ToList();
        }, cancellationToken);
    }

    private const string GetActionItemsSql = """
        SELECT id AS Id, incident_id AS IncidentId, text AS Text,
            owner_platform AS OwnerPlatform, owner_user_id AS OwnerUserId, owner_name AS OwnerName,
            created_by_platform AS CreatedByPlatform, created_by_user_id AS CreatedByUserId, created_by_name AS CreatedByName,
            created_at AS CreatedAt, done_at AS DoneAt
        FROM action_items
        WHERE incident_id = @IncidentId
        ORDER BY created_at, id
        """;

    public async Task<TimelineEntry?> CaptureMessageAsync(NewTimelineEntry entry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (entry.Source is null)
        {
            throw new ArgumentException("A captured message needs its source.", nameof(entry));
        }

        return await writer.WriteAsync(TimelineStatement(CaptureSql, entry, time.GetUtcNow()), ReadEntryAsync, cancellationToken);
    }

    // The incident is the one whose war room the message is in, found in the insert itself. The conflict target
    // includes soft-deleted rows, so a redelivery after a delete stays deleted.
    private const string CaptureSql = $"""
        INSERT INTO timeline_entries (
            incident_id, occurred_at, kind, author_platform, author_user_id, author_name, text, pinned,
            source_platform, source_channel, source_message_id, created_at)
        SELECT
            w.incident_id, @OccurredAt, @Kind, @AuthorPlatform, @AuthorUserId, @AuthorName, @Text, @Pinned,
            @SourcePlatform, @SourceChannel, @SourceMessageId, @CreatedAt
        FROM war_rooms w
        WHERE w.platform = @SourcePlatform AND w.channel = @SourceChannel
        ON CONFLICT (source_platform, source_channel, source_message_id) DO NOTHING
        RETURNING {TimelineColumns}
        """;


    // Soft-deleted entries are gone for every operation except deduplication.
    private const string SourceMatch = """
        source_platform = @Platform AND source_channel = @Channel AND source_message_id = @MessageId AND deleted_at IS NULL
        """;

    public async Task<TimelineEntry?> FindBySourceAsync(MessageRef source, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        return await database.RunAsync(async connection =>
        {
            var row = await connection.QuerySingleOrDefaultAsync<TimelineRow>(new CommandDefinition(
                FindBySourceSql, new { source.Platform, source.Channel, source.MessageId }, cancellationToken: cancellationToken));
            return row?.ToEntry();
        }, cancellationToken);
    }

    private const string FindBySourceSql = $"SELECT {TimelineColumns} FROM timeline_entries WHERE {SourceMatch}";

    public async Task<TimelineEntry?> EditMessageAsync(MessageRef source, string text, DateTimeOffset editedAt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        var statement = SourceStatement(EditSql, source).With("Text", text).With("EditedAt", editedAt);
        return await writer.WriteAsync(statement, ReadEntryAsync, cancellationToken);
    }

    private const string EditSql = $"""
        UPDATE timeline_entries SET text = @Text, edited_at = @EditedAt
        WHERE {SourceMatch}
        RETURNING {TimelineColumns}
        """;

    public async Task<bool> DeleteMessageAsync(MessageRef source, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        var statement = SourceStatement(DeleteSql, source).With("DeletedAt", time.GetUtcNow());
        return await writer.WriteAsync(statement, async (reader, ct) => await reader.ReadAsync(ct), cancellationToken);
    }

    private const string DeleteSql = $"UPDATE timeline_entries SET deleted_at = @DeletedAt WHERE {SourceMatch} RETURNING id";

    public async Task<TimelineEntry?> SetPinnedAsync(MessageRef source, bool pinned, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        return await writer.WriteAsync(SourceStatement(SetPinnedSql, source).With("Pinned", pinned), ReadEntryAsync, cancellationToken);
    }

    private const string SetPinnedSql = $"""
        UPDATE timeline_entries SET pinned = @Pinned
        WHERE {SourceMatch}
        RETURNING {TimelineColumns}
        """;

    private async Task<IReadOnlyList<Incident>> ReadIncidentsAsync(string sql, object parameters, CancellationToken cancellationToken)
    {
        return await database.RunAsync(async connection =>
        {
            await using var transaction = await connection.BeginSnapshotAsync(cancellationToken);
            var incidents = await ReadIncidentsAsync(connection, transaction, sql, parameters, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            return incidents;
        }, cancellationToken);
    }

    private static async Task<Incident> LoadByIdAsync(DbConnection connection, DbTransaction transaction, long id, CancellationToken cancellationToken)
    {
        var incidents = await ReadIncidentsAsync(connection, transaction, GetByIdSql, new { Id = id }, cancellationToken);
        return incidents.Single();
    }

    private static async Task<IReadOnlyList<Incident>> ReadIncidentsAsync(
        DbConnection connection, DbTransaction? transaction, string sql, object parameters, CancellationToken cancellationToken)
    {
        await using var grid = await connection.QueryMultipleAsync(new CommandDefinition(sql, parameters, transaction, cancellationToken: cancellationToken));
        var incidents = (await grid.ReadAsync<IncidentRow>()).AsList();
        var roles = (await grid.ReadAsync<RoleRow>()).ToLookup(r => r.IncidentId);
        var warRooms = (await grid.ReadAsync<WarRoomRow>()).ToLookup(r => r.IncidentId);
        return incidents.Select(i => i.ToIncident(roles[i.Id], warRooms[i.Id])).ToList();
    }

    private static object TimelineParameters(long incidentId, NewTimelineEntry entry, DateTimeOffset now) => new
    {
        IncidentId = incidentId,
        entry.OccurredAt,
        Kind = entry.Kind.ToToken(),
        AuthorPlatform = entry.Author?.Platform,
        AuthorUserId = entry.Author?.UserId,
        AuthorName = entry.Author?.Name,
        entry.Text,
        entry.Pinned,
        SourcePlatform = entry.Source?.Platform,
        SourceChannel = entry.Source?.Channel,
        SourceMessageId = entry.Source?.MessageId,
        CreatedAt = now,
    };

    private static WriteStatement TimelineStatement(string sql, NewTimelineEntry entry, DateTimeOffset now) => new WriteStatement(sql)
        .With("OccurredAt", entry.OccurredAt)
        .With("Kind", entry.Kind.ToToken())
        .With("AuthorPlatform", entry.Author?.Platform)
        .With("AuthorUserId", entry.Author?.UserId)
        .With("AuthorName", entry.Author?.Name)
        .With("Text", entry.Text)
        .With("Pinned", entry.Pinned)
        .With("SourcePlatform", entry.Source?.Platform)
        .With("SourceChannel", entry.Source?.Channel)
        .With("SourceMessageId", entry.Source?.MessageId)
        .With("CreatedAt", now);

    private static WriteStatement SourceStatement(string sql, MessageRef source) => new WriteStatement(sql)
        .With("Platform", source.Platform)
        .With("Channel", source.Channel)
        .With("MessageId", source.MessageId);

    private static async Task<TimelineEntry?> ReadEntryAsync(DbDataReader reader, CancellationToken cancellationToken) =>
        await reader.ReadAsync(cancellationToken) ? reader.GetRowParser<TimelineRow>()(reader).ToEntry() : null;

    private static Person? PersonOf(string? platform, string? userId, string? name) =>
        platform is null || userId is null ? null : new Person(platform, userId, name ?? "");

    private static IncidentRole ParseRole(string token) =>
        IncidentRoleText.TryParse(token, out var role) ? role : throw new InvalidOperationException($"Unknown role '{token}' in the database.");

    private class IncidentRow
    {
        public long Id { get; init; }
        public int Number { get; init; }
        public string Title { get; init; } = "";
        public string? Description { get; init; }
        public int Severity { get; init; }
        public string Status { get; init; } = "";
        public string DeclaredByPlatform { get; init; } = "";
        public string DeclaredByUserId { get; init; } = "";
        public string DeclaredByName { get; init; } = "";
        public DateTimeOffset DeclaredAt { get; init; }
        public DateTimeOffset? AcknowledgedAt { get; init; }
        public DateTimeOffset? MitigatedAt { get; init; }
        public DateTimeOffset? ResolvedAt { get; init; }
        public DateTimeOffset? LastUpdateAt { get; init; }
        public DateTimeOffset? NextUpdateDueAt { get; init; }
        public string? Summary { get; init; }
        public bool IsPrivate { get; init; }
        public int Version { get; init; }

        public Incident ToIncident(IEnumerable<RoleRow> roles, IEnumerable<WarRoomRow> warRooms) =>
            new(
                Id,
                new IncidentNumber(Number),
                Title,
                Description,
                (Severity)Severity,
                IncidentStatusText.TryParse(Status, out var status) ? status : throw new InvalidOperationException($"Unknown status '{Status}' in the database."),
                new Person(DeclaredByPlatform, DeclaredByUserId, DeclaredByName),
                DeclaredAt,
                Version)
            {
                Roles = roles.ToDictionary(r => ParseRole(r.Role), r => new Person(r.HolderPlatform, r.HolderUserId, r.HolderName)),
                WarRooms = [.. warRooms.Select(w => new ChatSpace(w.Platform, w.Channel))],
                AcknowledgedAt = AcknowledgedAt,
                MitigatedAt = MitigatedAt,
                ResolvedAt = ResolvedAt,
                LastUpdateAt = LastUpdateAt,
                NextUpdateDueAt = NextUpdateDueAt,
                Summary = Summary,
                IsPrivate = IsPrivate,
            };
    }

    private sealed class IncidentWithPartsRow : IncidentRow
    {
        public string[]? RoleTokens { get; init; }
        public string[]? RolePlatforms { get; init; }
        public string[]? RoleUserIds { get; init; }
        public string[]? RoleNames { get; init; }
        public string[]? WarRoomPlatforms { get; init; }
        public string[]? WarRoomChannels { get; init; }

        public Incident ToIncident()
        {
            var roles = (RoleTokens ?? []).Select((role, i) => new RoleRow
            {
                IncidentId = Id, Role = role, HolderPlatform = RolePlatforms![i], HolderUserId = RoleUserIds![i], HolderName = RoleNames![i],
            });
            var warRooms = (WarRoomPlatforms ?? []).Select((platform, i) => new WarRoomRow { IncidentId = Id, Platform = platform, Channel = WarRoomChannels![i] });
            return ToIncident(roles, warRooms);
        }
    }

    private sealed class RoleRow
    {
        public long IncidentId { get; init; }
        public string Role { get; init; } = "";
        public string HolderPlatform { get; init; } = "";
        public string HolderUserId { get; init; } = "";
        public string HolderName { get; init; } = "";
        public string? AssignedByPlatform { get; init; }
        public string? AssignedByUserId { get; init; }
        public string? AssignedByName { get; init; }
        public DateTimeOffset AssignedAt { get; init; }
        public DateTimeOffset? EndedAt { get; init; }

        public RoleAssignment ToAssignment() => new(
            ParseRole(Role),
            new Person(HolderPlatform, HolderUserId, HolderName),
            PersonOf(AssignedByPlatform, AssignedByUserId, AssignedByName),
            AssignedAt,
            EndedAt);
    }

    private sealed class WarRoomRow
    {
        public long IncidentId { get; init; }
        public string Platform { get; init; } = "";
        public string Channel { get; init; } = "";
    }

    private sealed class TimelineRow
    {
        public long Id { get; init; }
        public long IncidentId { get; init; }
        public DateTimeOffset OccurredAt { get; init; }
        public string Kind { get; init; } = "";
        public string? AuthorPlatform { get; init; }
        public string? AuthorUserId { get; init; }
        public string? AuthorName { get; init; }
        public string Text { get; init; } = "";
        public bool Pinned { get; init; }
        public string? SourcePlatform { get; init; }
        public string? SourceChannel { get; init; }
        public string? SourceMessageId { get; init; }
        public DateTimeOffset? EditedAt { get; init; }

        public TimelineEntry ToEntry() => new(
            Id,
            IncidentId,
            OccurredAt,
            TimelineKindText.Parse(Kind),
            PersonOf(AuthorPlatform, AuthorUserId, AuthorName),
            Text,
            Pinned,
            SourcePlatform is null || SourceChannel is null || SourceMessageId is null
                ? null
                : new MessageRef(SourcePlatform, SourceChannel, SourceMessageId),
            EditedAt);
    }

    private sealed class ActionItemRow
    {
        public long Id { get; init; }
        public long IncidentId { get; init; }
        public string Text { get; init; } = "";
        public string? OwnerPlatform { get; init; }
        public string? OwnerUserId { get; init; }
        public string? OwnerName { get; init; }
        public string? CreatedByPlatform { get; init; }
        public string? CreatedByUserId { get; init; }
        public string? CreatedByName { get; init; }
        public DateTimeOffset CreatedAt { get; init; }
        public DateTimeOffset? DoneAt { get; init; }

        public ActionItem ToActionItem() => new(
            Id,
            IncidentId,
            Text,
            PersonOf(OwnerPlatform, OwnerUserId, OwnerName),
            PersonOf(CreatedByPlatform, CreatedByUserId, CreatedByName),
            CreatedAt,
            DoneAt);
    }
}
