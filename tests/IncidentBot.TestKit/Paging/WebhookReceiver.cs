namespace IncidentBot.TestKit.Paging;

/// <summary>Any webhook endpoint: records what arrives and answers 204 (unless scripted otherwise).</summary>
public sealed class WebhookReceiver : FakeHttpServer
{
    /// <summary>A Standard Webhooks secret for tests.</summary>
    public const string Secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    public Uri Url => new(BaseAddress, "hooks/incidents");

    protected override Task<(int Status, string Body)> AnswerAsync(RecordedRequest request) =>
        Task.FromResult(request.Path == "/hooks/incidents" ? (204, "") : (404, ""));
}
