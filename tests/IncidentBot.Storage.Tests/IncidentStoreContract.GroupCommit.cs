using System.Collections.Concurrent;
using System.Data.Common;
using Dapper;
using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace IncidentBot.Storage.Tests;

public abstract partial class IncidentStoreContract
{
    private GroupCommitWriter Writer => Services.GetRequiredService<GroupCommitWriter>();

    /// <summary>Holds the writer inside a batch until released, so what is queued meanwhile forms the next batch.</summary>
    private static async Task<(Task Gate, TaskCompletionSource Release)> HoldWriterAsync(GroupCommitWriter writer)
    {
        var running = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var gate = writer.WriteAsync(
            async (_, _, _) =>
            {
                running.TrySetResult();
                await release.Task;
                return true;
            },
            None);
        await running.Task;
        return (gate, release);
    }

    private static MessageRef Talk(int n) => new("slack", Room1.Channel, $"1741944413.{n:D6}");

    [Fact]
    public async Task CaptureMessageAsync_ManyArrivingDuringACommit_CommittedTogetherInOneTransaction()
    {
        var incident = await DeclareAsync(warRoom: Room1);
        var (gate, release) = await HoldWriterAsync(Writer);
        var transactions = new ConcurrentBag<DbTransaction>();

        var captures = Enumerable.Range(1, 20)
            .Select(n => Store.CaptureMessageAsync(ChatMessage(Talk(n), $"message {n}", Start), None))
            .ToList();
        var observer = Writer.WriteAsync(
            (_, transaction, _) =>
            {
                transactions.Add(transaction);
                return Task.FromResult(true);
            },
            None);
        Assert.DoesNotContain(captures, c => c.IsCompleted);
        release.SetResult();
        await gate;
        var captured = await Task.WhenAll(captures);
        await observer;

        Assert.All(captured, Assert.NotNull);
        Assert.Single(transactions);
        var messages = (await Store.GetTimelineAsync(incident.Id, None)).Where(e => e.Kind == TimelineKind.Message).ToList();
        Assert.Equal(20, messages.Count);
    }

    /// <summary>A write given as code fails: its batch runs one by one in a transaction, and the others commit.</summary>
    [Fact]
    public Task GroupCommit_OneWriteOfABatchFails_OthersCommitAndOnlyItsCallerGetsTheError() =>
        OneBadWriteInABatchAsync(() => Writer.WriteAsync(
            (connection, transaction, ct) => connection.ExecuteAsync(new CommandDefinition("INSERT INTO no_such_table (x) VALUES (1)", transaction: transaction, cancellationToken: ct)),
            None));

    /// <summary>A statement fails: on PostgreSQL in a batch sent as one command, whose error names the statement.</summary>
    [Fact]
    public Task GroupCommit_OneStatementOfABatchFails_OthersCommitAndOnlyItsCallerGetsTheError() =>
        OneBadWriteInABatchAsync(() => Writer.WriteAsync(
            new WriteStatement("INSERT INTO no_such_table (x) VALUES (@X) RETURNING x").With("X", 1),
            async (reader, ct) => await reader.ReadAsync(ct),
            None));

    private async Task OneBadWriteInABatchAsync(Func<Task> badWrite)
    {
        var incident = await DeclareAsync(warRoom: Room1);
        var (gate, release) = await HoldWriterAsync(Writer);

        var before = Store.CaptureMessageAsync(ChatMessage(Talk(1), "before the bad write", Start), None);
        var bad = badWrite();
        var note = Incidents.AddNoteAsync(incident.Number, "after the bad write", AsAlice, None);
        var after = Store.CaptureMessageAsync(ChatMessage(Talk(2), "after the bad write", Start), None);
        release.SetResult();
        await gate;

        await Assert.ThrowsAnyAsync<DbException>(() => bad);
        Assert.NotNull(await before);
        Assert.NotNull(await after);
        Assert.Equal(incident.Number, (await note).Incident.Number);
        var timeline = await Store.GetTimelineAsync(incident.Id, None);
        Assert.Single(timeline, e => e.Source == Talk(1));
        Assert.Single(timeline, e => e.Source == Talk(2));
        Assert.Single(timeline, e => e.Kind == TimelineKind.Note && e.Text == "after the bad write");
    }

    [Fact]
    public async Task GroupCommit_SameMessageTwiceInOneBatch_StoredOnceAndTheSecondIsTheDuplicate()
    {
        var incident = await DeclareAsync(warRoom: Room1);
        var (gate, release) = await HoldWriterAsync(Writer);

        var first = Store.CaptureMessageAsync(ChatMessage(Talk(7), "said once", Start), None);
        var redelivered = Store.CaptureMessageAsync(ChatMessage(Talk(7), "said once", Start), None);
        var edited = Store.EditMessageAsync(Talk(7), "said once, edited", Start.AddSeconds(5), None);
        var pinned = Store.SetPinnedAsync(Talk(7), true, None);
        release.SetResult();
        await gate;

        Assert.NotNull(await first);
        Assert.Null(await redelivered);
        Assert.Equal("said once, edited", (await edited)?.Text);
        Assert.True((await pinned)?.Pinned);
        var entry = Assert.Single(await Store.GetTimelineAsync(incident.Id, None), e => e.Source == Talk(7));
        Assert.Equal(("said once, edited", true), (entry.Text, entry.Pinned));
        Assert.True(await Store.DeleteMessageAsync(Talk(7), None));
        Assert.False(await Store.DeleteMessageAsync(Talk(7), None));
    }

    [Fact]
    public async Task GroupCommit_QueueFull_CallerWaitsForRoomAndMayGiveUpBeforeItsWriteRuns()
    {
        await using var writer = new GroupCommitWriter(
            Services.GetRequiredService<IDbConnectionFactory>(),
            Options.Create(new GroupCommitOptions { MaxBatch = 2, QueueLimit = 2, MaxDelay = TimeSpan.Zero }),
            NullLogger<GroupCommitWriter>.Instance);
        var (gate, release) = await HoldWriterAsync(writer);
        var ran = 0;
        Task<bool> Count(CancellationToken token) => writer.WriteAsync(
            (_, _, _) =>
            {
                Interlocked.Increment(ref ran);
                return Task.FromResult(true);
            },
            token);

        var queued = new[] { Count(None), Count(None) };
        using var giveUp = new CancellationTokenSource();
        var waiting = Count(giveUp.Token);
        Assert.False(waiting.IsCompleted);
        await giveUp.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        release.SetResult();
        await gate;
        await Task.WhenAll(queued);

        Assert.Equal(2, ran);
    }

    [Fact]
    public async Task AddNoteAsync_WithoutReadingTheIncident_StoresTheEntryOfThatIncidentAndQueuesNothing()
    {
        var other = await DeclareAsync("Another incident");
        var incident = await DeclareAsync(warRoom: Room1);
        await DrainOutboxAsync();

        var result = await Incidents.AddNoteAsync(incident.Number, "Rolled back deploy 4411", new Actor(Bob, Room1), None);

        Assert.Equal((incident.Id, incident.Number, incident.Title, incident.Version), (result.Incident.Id, result.Incident.Number, result.Incident.Title, result.Incident.Version));
        Assert.Equal(incident.WarRooms, result.Incident.WarRooms);
        Assert.Equal($"{incident.Number}: note added.", result.Message);
        var entry = Assert.Single(await Store.GetTimelineAsync(incident.Id, None), e => e.Kind == TimelineKind.Note);
        Assert.Equal(("Rolled back deploy 4411", Bob), (entry.Text, entry.Author));
        Assert.DoesNotContain(await Store.GetTimelineAsync(other.Id, None), e => e.Kind == TimelineKind.Note);
        // A note is timeline-only (decision 12): nothing for the outbox.
        Assert.Empty(await Outbox.ClaimAsync(new Dictionary<string, int> { ["h"] = 10 }, (_, _) => true, Lease, None));
    }

    [Fact]
    public async Task AddNoteAsync_NoSuchIncident_RuleErrorAndNothingStored()
    {
        await DeclareAsync();
        await DrainOutboxAsync();
        var timelineRows = await QueryScalarAsync<long>("SELECT COUNT(*) FROM timeline_entries");

        var error = await Assert.ThrowsAsync<IncidentRuleException>(() => Incidents.AddNoteAsync(new IncidentNumber(99), "lost?", AsAlice, None));

        Assert.Equal("INC-99 does not exist.", error.Message);
        Assert.Equal(timelineRows, await QueryScalarAsync<long>("SELECT COUNT(*) FROM timeline_entries"));
        Assert.Empty(await Outbox.ClaimAsync(new Dictionary<string, int> { ["h"] = 10 }, (_, _) => true, Lease, None));
    }

    private async Task DrainOutboxAsync()
    {
        foreach (var delivery in await Outbox.ClaimAsync(new Dictionary<string, int> { ["h"] = 100 }, (_, _) => true, Lease, None))
        {
            await Outbox.CompleteAsync(delivery.MessageId, delivery.Handler, None);
        }
    }
}
