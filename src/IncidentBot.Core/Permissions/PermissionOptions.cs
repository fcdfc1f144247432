namespace IncidentBot.Core.Permissions;

/// <summary>Who may change an incident from where (<c>Permissions:*</c>).</summary>
public sealed class PermissionOptions
{
    public const string Section = "Permissions";

    /// <summary>Commands that change an incident work only inside its war rooms (once it has one).</summary>
    public bool ChangesOnlyInWarRoom { get; set; } = true;

    /// <summary><c>page</c>, <c>resolve</c> and <c>sev</c> only by the incident's role holders (or its declarer while nobody holds a role).</summary>
    public bool RestrictToRoles { get; set; }
}
